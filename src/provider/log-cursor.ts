// The Logs cursor: an opaque string naming, for every (allocation, stream) of a Logs call, the exact byte position
// after the last line delivered. A client that reconnects with the cursor of the last line it processed gets every
// later line exactly once. Format (not a contract, may change with a version bump): base64url of
// {"v":1,"p":[[allocId,"o"|"e",fileIndex,offset],...]}.

import { invalidArgument } from "../errors.js";
import type { LogPosition, LogType } from "../nomad/logs.js";

export type CursorPositions = Map<string, LogPosition>;

const maxCursorLength = 64 * 1024;

export function positionKey(allocId: string, type: LogType): string {
  return `${allocId}/${type}`;
}

export function splitPositionKey(key: string): { allocId: string; type: LogType } {
  const slash = key.lastIndexOf("/");
  return { allocId: key.slice(0, slash), type: key.slice(slash + 1) as LogType };
}

/**
 * Builds cursors incrementally: every line changes one entry, so each entry's JSON is cached and only the changed
 * one is re-serialised (a cursor is produced for every line of a stream that may carry millions).
 */
export class CursorWriter {
  readonly #entries = new Map<string, string>();
  /** The other entries' JSON while one key keeps advancing (the common case: a run of lines from one stream). */
  #restKey: string | undefined;
  #rest = "";

  set(key: string, position: LogPosition): void {
    if (key !== this.#restKey) this.#restKey = undefined;
    this.#entries.set(key, entryJson(key, position));
  }

  has(key: string): boolean {
    return this.#entries.has(key);
  }

  encode(): string {
    return Buffer.from(`{"v":1,"p":[${[...this.#entries.values()].join(",")}]}`).toString("base64url");
  }

  /** set(key, position) followed by encode(), without re-serialising the unchanged entries. */
  advance(key: string, position: LogPosition): string {
    const entry = entryJson(key, position);
    this.#entries.set(key, entry);
    if (this.#restKey !== key) {
      this.#restKey = key;
      this.#rest = [...this.#entries].filter(([k]) => k !== key).map(([, v]) => `${v},`).join("");
    }
    return Buffer.from(`{"v":1,"p":[${this.#rest}${entry}]}`).toString("base64url");
  }
}

const entryPrefixes = new Map<string, string>();

function entryJson(key: string, position: LogPosition): string {
  let prefix = entryPrefixes.get(key);
  if (prefix === undefined) {
    const { allocId, type } = splitPositionKey(key);
    prefix = `[${JSON.stringify(allocId)},"${type === "stdout" ? "o" : "e"}",`;
    // Bounded: keys are allocation IDs of this plugin's lifetime; forget them all when the map grows large.
    if (entryPrefixes.size > 10_000) entryPrefixes.clear();
    entryPrefixes.set(key, prefix);
  }
  return `${prefix}${position.file},${position.off}]`;
}

export function encodeCursor(positions: CursorPositions): string {
  const w = new CursorWriter();
  for (const [key, pos] of positions) w.set(key, pos);
  return w.encode();
}

/** Parses a cursor from LogsRequest.cursor; INVALID_ARGUMENT (field "cursor") when it is not one of ours. */
export function decodeCursor(cursor: string): CursorPositions {
  const bad = (why: string) => invalidArgument("cursor", `not a cursor returned by Logs (${why})`);
  if (cursor.length > maxCursorLength || !/^[A-Za-z0-9_-]+$/.test(cursor)) throw bad("bad encoding");
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
  } catch {
    throw bad("bad encoding");
  }
  const doc = parsed as { v?: unknown; p?: unknown };
  if (typeof doc !== "object" || doc === null || doc.v !== 1 || !Array.isArray(doc.p)) throw bad("unknown version");
  const positions: CursorPositions = new Map();
  for (const entry of doc.p) {
    if (!Array.isArray(entry) || entry.length !== 4) throw bad("bad entry");
    const [allocId, s, file, off] = entry as unknown[];
    if (typeof allocId !== "string" || allocId === "" || (s !== "o" && s !== "e")) throw bad("bad entry");
    if (!isCount(file) || !isCount(off)) throw bad("bad position");
    positions.set(positionKey(allocId, s === "o" ? "stdout" : "stderr"), { file, off });
  }
  return positions;
}

function isCount(v: unknown): v is number {
  return typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
}
