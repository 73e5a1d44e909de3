// hclog-compatible JSON logging on stderr. stdout belongs to the go-plugin handshake line and is never written here.
// A go-plugin host parses each line: "@level", "@message" (both strings, or the host panics), "@timestamp" in Go's
// 2006-01-02T15:04:05.000000Z07:00 layout (six fractional digits), "@module"; other keys become structured fields.

export type Level = "trace" | "debug" | "info" | "warn" | "error";

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
}

export interface LoggerOptions {
  module?: string;
  level?: Level;
  write?: (line: string) => void;
  now?: () => Date;
}

/** Formats a Date as Go's time.RFC3339 with microseconds, in UTC: 2026-11-25T22:08:23.123000Z. */
export function hclogTimestamp(date: Date): string {
  return date.toISOString().replace(/\.(\d{3})Z$/, ".$1000Z");
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
    if (fields) {
      for (const [k, v] of Object.entries(fields)) {
        if (k.startsWith("@")) continue;
        record[k] = secretKey.test(k) ? "[redacted]" : serialisable(v);
      }
    }
    write(JSON.stringify(record) + "\n");
  };

  return {
    trace: (m, f) => emit("trace", m, f),
    debug: (m, f) => emit("debug", m, f),
    info: (m, f) => emit("info", m, f),
    warn: (m, f) => emit("warn", m, f),
    error: (m, f) => emit("error", m, f),
    child: (sub) => createLogger({ ...options, module: `${module}.${sub}` }),
  };
}

function serialisable(v: unknown): unknown {
  if (v instanceof Error) return v.message;
  if (typeof v === "bigint") return v.toString();
  return v;
}

/** The process-wide logger. Tests and embedders may create their own with createLogger. */
export const log = createLogger();
