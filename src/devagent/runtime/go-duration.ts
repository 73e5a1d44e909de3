// Nomad's event messages print durations with Go's time.Duration String() ("5s", "1m0s", "250ms"); clients show
// them verbatim, so the dev agent formats them the same way.

const pad = (n: number, width: number) => String(n).padStart(width, "0");
const trimFraction = (digits: string) => digits.replace(/0+$/, "");

function fractional(whole: number, frac: number, width: number, unit: string): string {
  const f = trimFraction(pad(frac, width));
  return f ? `${whole}.${f}${unit}` : `${whole}${unit}`;
}

/** Formats integer nanoseconds like Go's time.Duration.String(). */
export function goDuration(nanoseconds: number): string {
  const ns = Math.round(Math.abs(nanoseconds));
  const sign = nanoseconds < 0 ? "-" : "";
  if (ns === 0) return "0s";
  if (ns < 1e3) return `${sign}${ns}ns`;
  if (ns < 1e6) return sign + fractional(Math.floor(ns / 1e3), ns % 1e3, 3, "µs");
  if (ns < 1e9) return sign + fractional(Math.floor(ns / 1e6), ns % 1e6, 6, "ms");
  const hours = Math.floor(ns / 3.6e12);
  const minutes = Math.floor((ns % 3.6e12) / 6e10);
  const rest = ns % 6e10;
  const seconds = fractional(Math.floor(rest / 1e9), rest % 1e9, 9, "s");
  if (hours > 0) return `${sign}${hours}h${minutes}m${seconds}`;
  if (minutes > 0) return `${sign}${minutes}m${seconds}`;
  return sign + seconds;
}

/** Nanosecond unix time for TaskEvent.Time (millisecond precision is all Date offers). */
export function unixNanos(date = new Date()): number {
  return date.getTime() * 1e6;
}
