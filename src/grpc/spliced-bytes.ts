// Bytes for a large `bytes` field of a streamed response (a batch of log lines) that the transport frames in place and
// then recycles. A handler that assembles such a field from pieces anyway allocates it here; the bridge's serializer
// writes the rest of the message's encoding into the room in front (no copy of the bytes), and once grpc-js has
// taken the encoding (its write callback) the memory goes back to a small pool. Fresh multi-megabyte buffers per
// second make V8 collect for "external memory pressure": with recycled batches a 20 MiB Logs read saw about half
// as many scavenges (25-31 against 41-57 over 17 reads), and one copy of every byte less.
// Once yielded, the bytes belong to the transport: the handler must not touch them again.

/** Enough for a LogsResponse's other fields with a cursor over a few dozen allocations; more falls back to a copy. */
const headroomBytes = 2048;
/** Pooled slabs fit a batch of the largest size a Logs call may ask for (1 MiB). */
const slabBytes = 1024 * 1024 + headroomBytes;
/** Smaller batches get memory of their own size: a slab each would hold 1 MiB per message in flight (many follows). */
const slabFromBytes = 256 * 1024;
const poolLimit = 16;

const pool: ArrayBuffer[] = [];
const slabs = new WeakSet<ArrayBuffer>();
const headrooms = new WeakMap<Uint8Array, number>();

/** A Buffer of `size` bytes with room in front that only the serializer writes to. */
export function allocSplicedBytes(size: number): Buffer {
  let bytes: Buffer;
  if (size >= slabFromBytes && size + headroomBytes <= slabBytes) {
    const memory = pool.pop() ?? new ArrayBuffer(slabBytes);
    slabs.add(memory);
    bytes = Buffer.from(memory, headroomBytes, size);
  } else {
    bytes = Buffer.allocUnsafe(headroomBytes + size).subarray(headroomBytes);
  }
  headrooms.set(bytes, headroomBytes);
  return bytes;
}

/** Bytes free in front of `bytes` (0 unless it came from allocSplicedBytes). */
export function headroomOf(bytes: Uint8Array): number {
  return headrooms.get(bytes) ?? 0;
}

/** Called with an encoding grpc-js is done with: its memory is reused if it is a pooled slab. */
export function recycle(encoding: Uint8Array): void {
  const memory = encoding.buffer as ArrayBuffer;
  if (!slabs.has(memory) || pool.length >= poolLimit) return;
  slabs.delete(memory);
  pool.push(memory);
}
