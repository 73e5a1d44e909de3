// Turns a byte stream (log frame data) into lines. Splitting happens on the byte 0x0A, which never occurs inside a
// multi-byte UTF-8 sequence, and each line is decoded only once complete: a character split across frames is therefore
// decoded whole, and invalid UTF-8 becomes U+FFFD. A line longer than maxLineBytes is cut into pieces of that size so one
// runaway writer cannot make the plugin buffer without bound; the pieces keep exact byte positions.

export interface SplitLine {
  /** The line without its "\n". */
  text: string;
  /** Bytes consumed up to and including this line (its newline, if any), counted since the splitter started. */
  end: number;
}

const NEWLINE = 0x0a;
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
