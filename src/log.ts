// hclog-compatible JSON logging on stderr. stdout belongs to the go-plugin handshake line and is never written here.
// A go-plugin host parses each line: "@level", "@message" (both strings, or the host panics), "@timestamp" in Go's
// 2006-01-02T15:04:05.000000Z07:00 layout (six fractional digits), "@module"; other keys become structured fields.
// For a person at a terminal the same records can be written as hclog's text lines (--log-format text).

export type Level = "trace" | "debug" | "info" | "warn" | "error";
export type LogFormat = "json" | "text";

const order: Record<Level, number> = { trace: 0, debug: 1, info: 2, warn: 3, error: 4 };

/** Keys whose values are never logged, whatever the caller passes. */
const secretKey = /token|secret|password|key|authorization|cookie|cert/i;

export interface Logger {
  trace(message: string, fields?: Record<string, unknown>): void;
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
  child(module: string): Logger;
  /** The same logger with these fields on every line (e.g. a call's trace_id). */
  with(fields: Record<string, unknown>): Logger;
}

export interface LoggerOptions {
  module?: string;
  level?: Level;
  write?: (line: string) => void;
  now?: () => Date;
  /** Default json. */
  format?: LogFormat;
  /** Fields on every line. */
  fields?: Record<string, unknown>;
}

/** Formats a Date as Go's time.RFC3339 with microseconds, in UTC: 2026-11-25T22:08:23.123000Z. */
export function hclogTimestamp(date: Date): string {
  return date.toISOString().replace(/\.(\d{3})Z$/, ".$1000Z");
}

export function parseLogFormat(value: string | undefined): LogFormat | undefined {
  const v = value?.trim().toLowerCase();
  return v === "json" || v === "text" ? v : undefined;
}

export function parseLevel(value: string | undefined): Level | undefined {
  const v = value?.trim().toLowerCase();
  return v && v in order ? (v as Level) : undefined;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const min = order[options.level ?? parseLevel(process.env.CP_NOMAD_LOG_LEVEL) ?? "info"];
  const write = options.write ?? ((line: string) => process.stderr.write(line));
  const now = options.now ?? (() => new Date());
  const module = options.module ?? "nomad-provider";

  const emit = (level: Level, message: string, fields?: Record<string, unknown>) => {
    if (order[level] < min) return;
    const record: Record<string, unknown> = {
      "@level": level,
      "@message": String(message),
      "@module": module,
      "@timestamp": hclogTimestamp(now()),
    };
    for (const source of [options.fields, fields]) {
      if (!source) continue;
      for (const [k, v] of Object.entries(source)) {
        if (k.startsWith("@") || v === undefined) continue;
        record[k] = secretKey.test(k) ? "[redacted]" : serialisable(v);
      }
    }
    write(options.format === "text" ? textLine(record) : JSON.stringify(record) + "\n");
  };

  return {
    trace: (m, f) => emit("trace", m, f),
    debug: (m, f) => emit("debug", m, f),
    info: (m, f) => emit("info", m, f),
    warn: (m, f) => emit("warn", m, f),
    error: (m, f) => emit("error", m, f),
    child: (sub) => createLogger({ ...options, module: `${module}.${sub}` }),
    with: (extra) => createLogger({ ...options, fields: { ...options.fields, ...extra } }),
  };
}

/** hclog's text layout: `2026-11-25T22:08:23.123Z [WARN]  module: message: key=value key="two words"`. */
function textLine(record: Record<string, unknown>): string {
  const level = String(record["@level"]).toUpperCase();
  let line = `${String(record["@timestamp"]).replace(/(\.\d{3})\d{3}Z$/, "$1Z")} [${level}]${" ".repeat(Math.max(1, 6 - level.length))}${String(record["@module"])}: ${String(record["@message"])}`;
  const rest = Object.entries(record).filter(([k]) => !k.startsWith("@"));
  if (rest.length > 0) line += ":";
  for (const [k, v] of rest) {
    const text = typeof v === "string" ? v : JSON.stringify(v);
    line += ` ${k}=${/^[^\s"=]+$/.test(text) ? text : JSON.stringify(text)}`;
  }
  return line + "\n";
}

function serialisable(v: unknown): unknown {
  if (v instanceof Error) return v.message;
  if (typeof v === "bigint") return v.toString();
  return v;
}

/** The process-wide logger. Tests and embedders may create their own with createLogger. */
export const log = createLogger();
