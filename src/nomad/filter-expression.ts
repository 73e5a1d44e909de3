// Nomad's `filter` query parameter takes a go-bexpr expression (API docs, "Filtering"); list endpoints evaluate it on
// the servers, so what a filter leaves out never crosses the network. These build expressions from arbitrary values:
// a value becomes a double-quoted go-bexpr string, which go-bexpr reads with Go's strconv.Unquote after its grammar
// has ended the string at the first '"' (even one after a backslash), so quotes and control characters are written
// as \x escapes; a regular expression's metacharacters are escaped as Go's regexp.QuoteMeta escapes them.

/** A go-bexpr string literal whose value is `text`, whatever `text` holds. */
export function bexprString(text: string): string {
  let out = '"';
  for (const ch of text) {
    const cp = ch.codePointAt(0)!;
    if (ch === "\\") out += "\\\\";
    else if (ch === '"' || cp < 0x20 || cp === 0x7f) out += "\\x" + cp.toString(16).padStart(2, "0");
    else out += ch;
  }
  return out + '"';
}

/** Go's regexp.QuoteMeta: `text` as a regular expression matching exactly `text`. */
export function quoteRegexp(text: string): string {
  return text.replace(/[\\.+*?()|[\]{}^$]/g, "\\$&");
}

/** Objects (allocations, deployments, evaluations) of the jobs whose ID starts with `prefix`. */
export function jobIdPrefixFilter(prefix: string): string {
  return `JobID matches ${bexprString("^" + quoteRegexp(prefix))}`;
}
