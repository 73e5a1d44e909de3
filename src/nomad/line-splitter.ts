// Turns a byte stream (log frame data) into lines. Splitting happens on the byte 0x0A, which never occurs inside a
// multi-byte UTF-8 sequence, and each line is decoded only once complete: a character split across frames is therefore
// decoded whole, and invalid UTF-8 becomes U+FFFD. A line longer than maxLineBytes is cut into pieces of that size so one
// runaway writer cannot make the plugin buffer without bound; the pieces keep exact byte positions.
// pushBlocks gives the same lines as ready-to-send blocks ("line\n" after "line\n") without a string per line: for
// the usual input (valid UTF-8, no runaway line) a block is a view of the input bytes, found with one lastIndexOf.

import { isUtf8 } from "node:buffer";

export interface SplitLine {
  /** The line without its "\n". */
  text: string;
  /** Bytes consumed up to and including this line (its newline, if any), counted since the splitter started. */
  end: number;
}

/** Complete lines, each followed by "\n", valid UTF-8 (invalid input replaced line by line as in SplitLine.text). */
export interface LineBlock {
  data: Buffer;
  /** Bytes consumed up to and including the block's last line, counted since the splitter started. */
  end: number;
}

const NEWLINE = 0x0a;
const newlineBuffer = Buffer.from("\n");
const defaultMaxLineBytes = 1024 * 1024;

export class LineSplitter {
  readonly #maxLineBytes: number;
  #parts: Buffer[] = [];
  #partBytes = 0;
  #consumed = 0;

  constructor(options: { maxLineBytes?: number } = {}) {
    this.#maxLineBytes = options.maxLineBytes ?? defaultMaxLineBytes;
  }

  /** Bytes fed so far. */
  get consumed(): number {
    return this.#consumed;
  }

  /** Bytes of an unfinished line held back. */
  get pendingBytes(): number {
    return this.#partBytes;
  }

  /** Feeds bytes; returns the lines they complete. */
  push(data: Buffer): SplitLine[] {
    const lines: SplitLine[] = [];
    let from = 0;
    while (from < data.length) {
      const nl = data.indexOf(NEWLINE, from);
      const stop = nl < 0 ? data.length : nl;
      if (this.#partBytes + (stop - from) > this.#maxLineBytes) {
        const take = this.#maxLineBytes - this.#partBytes;
        this.#append(data.subarray(from, from + take));
        from += take;
        this.#consumed += take;
        lines.push({ text: this.#takeText(), end: this.#consumed });
        continue;
      }
      if (nl < 0) {
        this.#append(data.subarray(from));
        this.#consumed += data.length - from;
        break;
      }
      this.#consumed += nl + 1 - from;
      const text = this.#partBytes === 0 ? data.toString("utf8", from, nl) : this.#takeText(data.subarray(from, nl));
      lines.push({ text, end: this.#consumed });
      from = nl + 1;
    }
    return lines;
  }

  /**
   * Feeds bytes; returns the lines they complete as blocks of at most maxBlockBytes each (a longer single line makes a
   * block of its own). The same lines, cut at the same places, as push() would return.
   */
  pushBlocks(data: Buffer, maxBlockBytes: number): LineBlock[] {
    if (this.#partBytes + data.length > this.#maxLineBytes) return packLines(this.push(data), maxBlockBytes);
    const lastNl = data.lastIndexOf(NEWLINE);
    if (lastNl < 0) {
      this.#append(data);
      this.#consumed += data.length;
      return [];
    }
    let blocks: LineBlock[] = [];
    let from = 0;
    if (this.#partBytes > 0) {
      // Only the line the held-back bytes belong to is copied together; the rest stays a view of `data`.
      const start = this.#consumed - this.#partBytes;
      from = data.indexOf(NEWLINE) + 1;
      blocks = cutBlocks(Buffer.concat([...this.#parts, data.subarray(0, from)]), start, maxBlockBytes);
      this.#parts = [];
      this.#partBytes = 0;
    }
    if (from <= lastNl) blocks.push(...cutBlocks(data.subarray(from, lastNl + 1), this.#consumed + from, maxBlockBytes));
    this.#consumed += lastNl + 1;
    this.#append(data.subarray(lastNl + 1));
    this.#consumed += data.length - lastNl - 1;
    return blocks;
  }

  /** flush() as a block. */
  flushBlock(): LineBlock | undefined {
    const last = this.flush();
    return last && { data: Buffer.concat([Buffer.from(last.text), newlineBuffer]), end: last.end };
  }

  /** Emits the unfinished last line, if any (the stream is over). */
  flush(): SplitLine | undefined {
    if (this.#partBytes === 0) return undefined;
    return { text: this.#takeText(), end: this.#consumed };
  }

  /** Drops an unfinished line (the file it came from was truncated or replaced). */
  discardPending(): void {
    this.#parts = [];
    this.#partBytes = 0;
  }

  #append(piece: Buffer): void {
    if (piece.length === 0) return;
    // Copy: the piece may be a view into a large network buffer that would otherwise stay alive.
    this.#parts.push(Buffer.from(piece));
    this.#partBytes += piece.length;
  }

  #takeText(last?: Buffer): string {
    if (last && last.length > 0) this.#parts.push(last);
    const text = Buffer.concat(this.#parts).toString("utf8");
    this.#parts = [];
    this.#partBytes = 0;
    return text;
  }
}

/** Cuts complete lines (source bytes starting at byte count `start`) into blocks at line ends. */
function cutBlocks(body: Buffer, start: number, max: number): LineBlock[] {
  // Replacement characters change sizes: invalid input is re-encoded line by line and packed like pushed lines.
  if (!isUtf8(body)) return packLines(splitComplete(body, start), max);
  const blocks: LineBlock[] = [];
  let from = 0;
  while (from < body.length) {
    let cut = body.length - 1;
    if (cut - from >= max) {
      cut = body.lastIndexOf(NEWLINE, from + max - 1);
      if (cut < from) cut = body.indexOf(NEWLINE, from + max);
    }
    blocks.push({ data: body.subarray(from, cut + 1), end: start + cut + 1 });
    from = cut + 1;
  }
  return blocks;
}

/** Lines of bytes that end with a newline, decoded one by one. */
function splitComplete(body: Buffer, start: number): SplitLine[] {
  const lines: SplitLine[] = [];
  for (let from = 0; from < body.length; ) {
    const nl = body.indexOf(NEWLINE, from);
    lines.push({ text: body.toString("utf8", from, nl), end: start + nl + 1 });
    from = nl + 1;
  }
  return lines;
}

function packLines(lines: SplitLine[], max: number): LineBlock[] {
  const blocks: LineBlock[] = [];
  let parts: Buffer[] = [];
  let bytes = 0;
  let end = 0;
  const close = () => {
    if (parts.length > 0) blocks.push({ data: Buffer.concat(parts, bytes), end });
    parts = [];
    bytes = 0;
  };
  for (const line of lines) {
    const piece = Buffer.from(`${line.text}\n`);
    if (bytes > 0 && bytes + piece.length > max) close();
    parts.push(piece);
    bytes += piece.length;
    end = line.end;
  }
  close();
  return blocks;
}
