// The parts of Go's strconv that Nomad's filter expressions (go-bexpr) lean on, with Go's error texts: Unquote for
// string literals, Quote for messages, and ParseBool/ParseInt/ParseUint/ParseFloat for coercing a filter's value to
// the type of the field it is compared with. An answer quoting these errors must read as Nomad's would.

/** A strconv error, its message as Go prints it (`strconv.ParseInt: parsing "x": invalid syntax`). */
export class GoStrconvError extends Error {}

/** strconv.ErrSyntax's text: what Unquote's error prints. */
export const invalidSyntax = "invalid syntax";

const simpleEscapes: Record<string, string> = { a: "\x07", b: "\b", f: "\f", n: "\n", r: "\r", t: "\t", v: "\v", "\\": "\\" };
const hexLength: Record<string, number> = { x: 2, u: 4, U: 8 };

/**
 * strconv.Unquote of a double-quoted or backquoted literal; throws GoStrconvError("invalid syntax") where Go fails.
 * Raw strings drop carriage returns; double-quoted ones take Go's escapes (\a \b \f \n \r \t \v \\ \" \xHH \ooo
 * \uHHHH \UHHHHHHHH) and refuse newlines, \' and unknown escapes.
 */
export function goUnquote(text: string): string {
  const quote = text[0];
  if (text.length < 2 || (quote !== '"' && quote !== "`") || text[text.length - 1] !== quote) throw new GoStrconvError(invalidSyntax);
  const body = text.slice(1, -1);
  if (quote === "`") {
    if (body.includes("`")) throw new GoStrconvError(invalidSyntax);
    return body.replaceAll("\r", "");
  }
  let out = "";
  for (let i = 0; i < body.length; ) {
    const c = body[i]!;
    if (c === '"' || c === "\n") throw new GoStrconvError(invalidSyntax);
    if (c !== "\\") {
      out += c;
      i++;
      continue;
    }
    const e = body[i + 1];
    if (e === undefined) throw new GoStrconvError(invalidSyntax);
    if (e in simpleEscapes) {
      out += simpleEscapes[e];
      i += 2;
    } else if (e === '"') {
      out += '"';
      i += 2;
    } else if (e in hexLength) {
      const digits = body.slice(i + 2, i + 2 + hexLength[e]!);
      if (digits.length !== hexLength[e] || !/^[0-9a-fA-F]+$/.test(digits)) throw new GoStrconvError(invalidSyntax);
      const v = parseInt(digits, 16);
      if (e === "x") {
        // A byte; bytes >= 0x80 make invalid UTF-8 in Go, which a JS string cannot hold: kept as the code point.
        out += String.fromCharCode(v);
      } else {
        if (v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff)) throw new GoStrconvError(invalidSyntax);
        out += String.fromCodePoint(v);
      }
      i += 2 + hexLength[e]!;
    } else if (e >= "0" && e <= "7") {
      const digits = body.slice(i + 1, i + 4);
      if (!/^[0-7]{3}$/.test(digits) || parseInt(digits, 8) > 255) throw new GoStrconvError(invalidSyntax);
      out += String.fromCharCode(parseInt(digits, 8));
      i += 4;
    } else {
      throw new GoStrconvError(invalidSyntax);
    }
  }
  return out;
}

const printable = /^[\p{L}\p{M}\p{N}\p{P}\p{S} ]$/u;
const controlEscapes: Record<string, string> = { "\x07": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\v": "\\v" };

/** strconv.Quote: a double-quoted Go literal, printable characters kept, the rest escaped as Go escapes them. */
export function goQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    if (ch === '"' || ch === "\\") out += "\\" + ch;
    else if (printable.test(ch)) out += ch;
    else if (ch in controlEscapes) out += controlEscapes[ch];
    else {
      const cp = ch.codePointAt(0)!;
      if (cp < 0x20 || cp === 0x7f) out += "\\x" + cp.toString(16).padStart(2, "0");
      else if (cp < 0x10000) out += "\\u" + cp.toString(16).padStart(4, "0");
      else out += "\\U" + cp.toString(16).padStart(8, "0");
    }
  }
  return out + '"';
}

const numError = (fn: string, s: string, err: string) => new GoStrconvError(`strconv.${fn}: parsing ${goQuote(s)}: ${err}`);

/** strconv.ParseBool. */
export function parseGoBool(s: string): boolean {
  if (["1", "t", "T", "TRUE", "true", "True"].includes(s)) return true;
  if (["0", "f", "F", "FALSE", "false", "False"].includes(s)) return false;
  throw numError("ParseBool", s, invalidSyntax);
}

/** Go's rule for underscores in numbers with base 0: only between digits, or between a base prefix and a digit. */
function underscoreOk(s: string): boolean {
  let saw = "^";
  let i = 0;
  if (s[0] === "-" || s[0] === "+") s = s.slice(1);
  let hex = false;
  if (s.length >= 2 && s[0] === "0" && /[box]/i.test(s[1]!)) {
    i = 2;
    saw = "0";
    hex = s[1]!.toLowerCase() === "x";
  }
  for (; i < s.length; i++) {
    const c = s[i]!;
    if ((c >= "0" && c <= "9") || (hex && /[a-f]/i.test(c))) {
      saw = "0";
      continue;
    }
    if (c === "_") {
      if (saw !== "0") return false;
      saw = "_";
      continue;
    }
    if (saw === "_") return false;
    saw = "!";
  }
  return saw !== "_";
}

const maxUint64 = (1n << 64n) - 1n;

/** strconv.ParseUint(s, 0, 64) as a bigint; `fn` and `shown` name the caller in the error as Go's ParseInt does. */
function parseUintBase0(s: string, fn: string, shown: string): { value: bigint; range: boolean } {
  if (s === "") throw numError(fn, shown, invalidSyntax);
  let base = 10n;
  let digits = s;
  if (s[0] === "0") {
    const p = s.length >= 3 ? s[1]!.toLowerCase() : "";
    if (p === "b") (base = 2n), (digits = s.slice(2));
    else if (p === "o") (base = 8n), (digits = s.slice(2));
    else if (p === "x") (base = 16n), (digits = s.slice(2));
    else (base = 8n), (digits = s.slice(1));
  }
  let value = 0n;
  let underscores = false;
  let range = false;
  for (const c of digits) {
    if (c === "_") {
      underscores = true;
      continue;
    }
    const d = /[0-9]/.test(c) ? BigInt(c.charCodeAt(0) - 48) : /[a-z]/i.test(c) ? BigInt(c.toLowerCase().charCodeAt(0) - 87) : 99n;
    if (d >= base) throw numError(fn, shown, invalidSyntax);
    value = value * base + d;
    if (value > maxUint64) range = true;
  }
  if (underscores && !underscoreOk(s)) throw numError(fn, shown, invalidSyntax);
  return { value, range };
}

/** strconv.ParseUint(s, 0, 64). */
export function parseGoUint(s: string): bigint {
  const { value, range } = parseUintBase0(s, "ParseUint", s);
  if (range) throw numError("ParseUint", s, "value out of range");
  return value;
}

/** strconv.ParseInt(s, 0, 64). */
export function parseGoInt(s: string): bigint {
  if (s === "") throw numError("ParseInt", s, invalidSyntax);
  const neg = s[0] === "-";
  const unsigned = s[0] === "+" || neg ? s.slice(1) : s;
  const { value, range } = parseUintBase0(unsigned, "ParseInt", s);
  const cutoff = 1n << 63n;
  if (range || (!neg && value >= cutoff) || (neg && value > cutoff)) throw numError("ParseInt", s, "value out of range");
  return neg ? -value : value;
}

/** strconv.ParseFloat(s, 64) for decimal notation, inf/infinity/nan and underscores (not Go's hexadecimal floats). */
export function parseGoFloat(s: string): number {
  const special = /^([+-]?)(inf|infinity|nan)$/i.exec(s);
  if (special) return special[2]!.toLowerCase() === "nan" ? NaN : special[1] === "-" ? -Infinity : Infinity;
  if (!/^[+-]?([0-9_]+\.?[0-9_]*|\.[0-9_]+)([eE][+-]?[0-9_]+)?$/.test(s) || (s.includes("_") && !underscoreOk(s))) {
    throw numError("ParseFloat", s, invalidSyntax);
  }
  const v = Number(s.replaceAll("_", ""));
  if (!Number.isFinite(v)) throw numError("ParseFloat", s, "value out of range");
  return v;
}
