// The few DER (ASN.1 distinguished encoding) constructors an X.509 certificate needs. Each returns the complete
// TLV bytes; containers take already-encoded children. Enough for AutoMTLS without an X.509 library on start-up.

const tag = {
  boolean: 0x01,
  integer: 0x02,
  bitString: 0x03,
  octetString: 0x04,
  oid: 0x06,
  utf8String: 0x0c,
  sequence: 0x30,
  set: 0x31,
  utcTime: 0x17,
  generalizedTime: 0x18,
} as const;

function length(n: number): Uint8Array {
  if (n < 0x80) return Uint8Array.of(n);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Uint8Array.of(0x80 | bytes.length, ...bytes);
}

export function tlv(t: number, content: Uint8Array): Uint8Array {
  return Buffer.concat([Uint8Array.of(t), length(content.length), content]);
}

export const sequence = (...items: Uint8Array[]) => tlv(tag.sequence, Buffer.concat(items));
export const set = (...items: Uint8Array[]) => tlv(tag.set, Buffer.concat(items));
export const octetString = (bytes: Uint8Array) => tlv(tag.octetString, bytes);
export const utf8String = (s: string) => tlv(tag.utf8String, Buffer.from(s, "utf8"));
export const boolean = (b: boolean) => tlv(tag.boolean, Uint8Array.of(b ? 0xff : 0x00));

/** BIT STRING whose content is whole bytes (signatures, keys). */
export const bitString = (bytes: Uint8Array, unusedBits = 0) => tlv(tag.bitString, Buffer.concat([Uint8Array.of(unusedBits), bytes]));

/** A non-negative INTEGER from big-endian bytes (leading zeros trimmed, a 0x00 added when the top bit is set). */
export function unsignedInteger(bytes: Uint8Array): Uint8Array {
  let i = 0;
  while (i < bytes.length - 1 && bytes[i] === 0) i++;
  const trimmed = bytes.subarray(i);
  return tlv(tag.integer, (trimmed[0] ?? 0) & 0x80 ? Buffer.concat([Uint8Array.of(0), trimmed]) : trimmed);
}

export const smallInteger = (n: number) => unsignedInteger(Uint8Array.of(n));

export function oid(dotted: string): Uint8Array {
  const parts = dotted.split(".").map(Number);
  const out: number[] = [40 * parts[0]! + parts[1]!];
  for (const part of parts.slice(2)) {
    const base128: number[] = [];
    for (let v = part; ; v = Math.floor(v / 128)) {
      base128.unshift((v & 0x7f) | (base128.length ? 0x80 : 0));
      if (v < 128) break;
    }
    out.push(...base128);
  }
  return tlv(tag.oid, Uint8Array.from(out));
}

/** UTCTime until 2049, GeneralizedTime after, as RFC 5280 requires. */
export function time(date: Date): Uint8Array {
  const iso = date.toISOString().replace(/[-:T]/g, "").replace(/\.\d{3}Z$/, "Z");
  return date.getUTCFullYear() < 2050 ? tlv(tag.utcTime, Buffer.from(iso.slice(2))) : tlv(tag.generalizedTime, Buffer.from(iso));
}

/** [n] EXPLICIT: wraps an encoded value. */
export const explicit = (n: number, inner: Uint8Array) => tlv(0xa0 | n, inner);
/** [n] IMPLICIT primitive: replaces the tag of raw content. */
export const implicit = (n: number, content: Uint8Array) => tlv(0x80 | n, content);
