// A subset of Go's text/template, enough for the templates Nomad jobs commonly carry and every form this project's
// job builder emits: text, {{ pipeline }}, if/with/range (with else), variables ($x, $k, $v :=), fields (.A.B),
// string literals, parenthesised pipelines, "|" chaining, trim markers ({{- -}}), comments, custom delimiters.
// Functions are supplied by the caller (consul-template's env, nomadVar, replaceAll, ...). Anything outside the
// subset is an error, as Go's parser would report one, so a template never silently renders differently.

export class TemplateError extends Error {}

export type TemplateValue = unknown;
export type TemplateFunc = (...args: TemplateValue[]) => TemplateValue;

/** A value that prints as `text` (Go's fmt.Stringer), e.g. consul-template's NomadVarItem. */
export interface Stringer {
  toTemplateString(): string;
}

const isStringer = (v: unknown): v is Stringer => typeof (v as Stringer | null)?.toTemplateString === "function";

type Token =
  | { kind: "string"; value: string }
  | { kind: "number"; value: number }
  | { kind: "bool"; value: boolean }
  | { kind: "ident"; value: string }
  | { kind: "field"; path: string[] }
  | { kind: "var"; name: string; path: string[] }
  | { kind: "punct"; value: "|" | "(" | ")" | ":=" | "=" | "," };

interface Command {
  operands: Operand[];
}
type Operand = Token | { kind: "pipe"; pipeline: Pipeline };
interface Pipeline {
  decl: string[];
  commands: Command[];
}

type Node =
  | { kind: "text"; text: string }
  | { kind: "output"; pipeline: Pipeline }
  | { kind: "block"; keyword: "if" | "with" | "range"; pipeline: Pipeline; body: Node[]; otherwise: Node[] };

export interface RenderOptions {
  leftDelim?: string;
  rightDelim?: string;
  funcs: Record<string, TemplateFunc>;
}

export function renderGoTemplate(text: string, options: RenderOptions): string {
  const left = options.leftDelim || "{{";
  const right = options.rightDelim || "}}";
  const nodes = parse(splitActions(text, left, right));
  return new Evaluator(options.funcs).run(nodes, undefined);
}

// ---- lexing actions out of the text -----------------------------------------------------------------------

type Piece = { kind: "text"; text: string } | { kind: "action"; source: string };

function splitActions(text: string, left: string, right: string): Piece[] {
  const pieces: Piece[] = [];
  let pos = 0;
  let trimNext = false;
  while (pos <= text.length) {
    const open = text.indexOf(left, pos);
    let chunk = text.slice(pos, open === -1 ? text.length : open);
    if (trimNext) chunk = chunk.replace(/^\s+/, "");
    trimNext = false;
    if (open === -1) {
      pieces.push({ kind: "text", text: chunk });
      break;
    }
    let start = open + left.length;
    if (/^-\s/.test(text.slice(start, start + 2))) {
      chunk = chunk.replace(/\s+$/, "");
      start += 1;
    }
    pieces.push({ kind: "text", text: chunk });
    const close = findClose(text, start, right);
    let source = text.slice(start, close);
    if (/\s-$/.test(source)) {
      source = source.slice(0, -1);
      trimNext = true;
    }
    pieces.push({ kind: "action", source: source.trim() });
    pos = close + right.length;
  }
  return pieces;
}

/** The position of the right delimiter that ends an action, skipping quoted strings and comments. */
function findClose(text: string, from: number, right: string): number {
  let i = from;
  while (i < text.length) {
    const c = text[i]!;
    if (text.startsWith("/*", i)) {
      const end = text.indexOf("*/", i + 2);
      if (end === -1) break;
      i = end + 2;
    } else if (c === '"' || c === "`" || c === "'") {
      i = skipQuoted(text, i);
    } else if (text.startsWith(right, i)) {
      return i;
    } else i++;
  }
  throw new TemplateError("template: unclosed action");
}

function skipQuoted(text: string, at: number): number {
  const quote = text[at]!;
  let i = at + 1;
  while (i < text.length && text[i] !== quote) {
    if (text[i] === "\\" && quote !== "`") i++;
    if (text[i] === "\n" && quote !== "`") break;
    i++;
  }
  if (text[i] !== quote) throw new TemplateError("template: unterminated quoted string");
  return i + 1;
}

const goEscapes: Record<string, string> = { n: "\n", t: "\t", r: "\r", "\\": "\\", '"': '"', "'": "'", a: "\x07", b: "\b", f: "\f", v: "\v" };

function unquote(raw: string): string {
  if (raw.startsWith("`")) return raw.slice(1, -1);
  return raw.slice(1, -1).replace(/\\(x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|[0-7]{3}|.)/g, (_m, e: string) => {
    if (/^[xuU]/.test(e)) return String.fromCodePoint(parseInt(e.slice(1), 16));
    if (/^[0-7]{3}$/.test(e)) return String.fromCharCode(parseInt(e, 8));
    const out = goEscapes[e];
    if (out === undefined) throw new TemplateError(`template: unknown escape sequence \\${e}`);
    return out;
  });
}

function tokenize(source: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  const pathAt = (from: number): [string[], number] => {
    const m = /^(?:\.[A-Za-z_][A-Za-z0-9_]*)+/.exec(source.slice(from));
    return m ? [m[0].slice(1).split("."), from + m[0].length] : [[], from];
  };
  while (i < source.length) {
    const c = source[i]!;
    if (/\s/.test(c)) i++;
    else if (c === '"' || c === "`") {
      const end = skipQuoted(source, i);
      tokens.push({ kind: "string", value: unquote(source.slice(i, end)) });
      i = end;
    } else if (source.startsWith(":=", i)) (tokens.push({ kind: "punct", value: ":=" }), (i += 2));
    else if ("|(),=".includes(c)) (tokens.push({ kind: "punct", value: c as "|" }), i++);
    else if (c === "$") {
      const m = /^\$[A-Za-z0-9_]*/.exec(source.slice(i))!;
      const [path, next] = pathAt(i + m[0].length);
      tokens.push({ kind: "var", name: m[0], path });
      i = next;
    } else if (c === ".") {
      const [path, next] = pathAt(i);
      tokens.push({ kind: "field", path });
      i = next === i ? i + 1 : next;
    } else if (/[-0-9]/.test(c)) {
      const m = /^-?\d+(\.\d+)?/.exec(source.slice(i));
      if (!m) throw new TemplateError(`template: bad number syntax near ${JSON.stringify(source.slice(i, i + 10))}`);
      tokens.push({ kind: "number", value: Number(m[0]) });
      i += m[0].length;
    } else if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(source.slice(i))!;
      if (m[0] === "true" || m[0] === "false") tokens.push({ kind: "bool", value: m[0] === "true" });
      else tokens.push({ kind: "ident", value: m[0] });
      i += m[0].length;
    } else throw new TemplateError(`template: unexpected ${JSON.stringify(c)} in action`);
  }
  return tokens;
}

// ---- parsing ------------------------------------------------------------------------------------------------

function parsePipeline(tokens: Token[]): Pipeline {
  let pos = 0;
  const decl: string[] = [];
  const declEnd = tokens.findIndex((t) => t.kind === "punct" && (t.value === ":=" || t.value === "="));
  if (declEnd > 0 && tokens.slice(0, declEnd).every((t) => t.kind === "var" || (t.kind === "punct" && t.value === ","))) {
    for (const t of tokens.slice(0, declEnd)) if (t.kind === "var") decl.push(t.name);
    pos = declEnd + 1;
  }
  const [pipeline, end] = commandsFrom(tokens, pos);
  if (end !== tokens.length) throw new TemplateError("template: unexpected token in pipeline");
  return { decl, commands: pipeline };
}

function commandsFrom(tokens: Token[], from: number): [Command[], number] {
  const commands: Command[] = [];
  let current: Operand[] = [];
  let i = from;
  while (i < tokens.length) {
    const t = tokens[i]!;
    if (t.kind === "punct" && t.value === ")") break;
    if (t.kind === "punct" && t.value === "|") {
      if (!current.length) throw new TemplateError("template: missing command before |");
      commands.push({ operands: current });
      current = [];
      i++;
    } else if (t.kind === "punct" && t.value === "(") {
      const [inner, end] = commandsFrom(tokens, i + 1);
      if (tokens[end]?.kind !== "punct" || (tokens[end] as { value: string }).value !== ")") throw new TemplateError("template: unclosed left paren");
      current.push({ kind: "pipe", pipeline: { decl: [], commands: inner } });
      i = end + 1;
    } else if (t.kind === "punct") {
      throw new TemplateError(`template: unexpected ${JSON.stringify(t.value)}`);
    } else {
      current.push(t);
      i++;
    }
  }
  if (current.length) commands.push({ operands: current });
  if (!commands.length) throw new TemplateError("template: missing value for command");
  return [commands, i];
}

function parse(pieces: Piece[]): Node[] {
  const root: Node[] = [];
  const stack: { block: Extract<Node, { kind: "block" }>; inElse: boolean }[] = [];
  const target = () => {
    const top = stack[stack.length - 1];
    return top ? (top.inElse ? top.block.otherwise : top.block.body) : root;
  };
  for (const piece of pieces) {
    if (piece.kind === "text") {
      if (piece.text) target().push({ kind: "text", text: piece.text });
      continue;
    }
    const src = piece.source;
    if (src.startsWith("/*")) continue;
    const keyword = /^(if|with|range|else|end)\b/.exec(src)?.[1] as "if" | "with" | "range" | "else" | "end" | undefined;
    if (keyword === "end") {
      if (!stack.pop()) throw new TemplateError("template: unexpected {{end}}");
    } else if (keyword === "else") {
      const top = stack[stack.length - 1];
      if (!top || top.inElse) throw new TemplateError("template: unexpected {{else}}");
      if (src.slice(4).trim()) throw new TemplateError("template: {{else if}} / {{else with}} are not supported here");
      top.inElse = true;
    } else if (keyword === "if" || keyword === "with" || keyword === "range") {
      const block: Extract<Node, { kind: "block" }> = { kind: "block", keyword, pipeline: parsePipeline(tokenize(src.slice(keyword.length))), body: [], otherwise: [] };
      target().push(block);
      stack.push({ block, inElse: false });
    } else {
      target().push({ kind: "output", pipeline: parsePipeline(tokenize(src)) });
    }
  }
  if (stack.length) throw new TemplateError(`template: unexpected EOF: {{${stack[stack.length - 1]!.block.keyword}}} has no {{end}}`);
  return root;
}

// ---- evaluation ---------------------------------------------------------------------------------------------

type Scope = Map<string, TemplateValue>;

export function templateTruth(v: TemplateValue): boolean {
  if (v === undefined || v === null || v === false || v === 0 || v === "") return false;
  if (Array.isArray(v)) return v.length > 0;
  if (v instanceof Map) return v.size > 0;
  if (typeof v === "object" && !isStringer(v)) return Object.keys(v as object).length > 0;
  return true;
}

/** Go's fmt %v of a template value (maps print as map[k:v] with sorted keys). */
export function printValue(v: TemplateValue): string {
  if (v === undefined || v === null) return "<no value>";
  if (isStringer(v)) return v.toTemplateString();
  if (typeof v === "string") return v;
  if (typeof v === "number" || typeof v === "boolean") return String(v);
  if (Array.isArray(v)) return `[${v.map(printValue).join(" ")}]`;
  const entries = v instanceof Map ? [...v.entries()] : Object.entries(v as object);
  entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `map[${entries.map(([k, x]) => `${k}:${printValue(x)}`).join(" ")}]`;
}

function field(value: TemplateValue, name: string): TemplateValue {
  if (value instanceof Map) return value.get(name);
  if (value !== null && typeof value === "object" && name in (value as object)) {
    const member = (value as Record<string, unknown>)[name];
    return typeof member === "function" ? (member as () => unknown).call(value) : member;
  }
  throw new TemplateError(`template: can't evaluate field ${name} in type ${value === null || value === undefined ? "nil" : typeof value}`);
}

class Evaluator {
  constructor(private readonly funcs: Record<string, TemplateFunc>) {}

  run(nodes: Node[], dot: TemplateValue, scope: Scope = new Map([["$", dot]])): string {
    let out = "";
    for (const node of nodes) {
      if (node.kind === "text") out += node.text;
      else if (node.kind === "output") {
        const v = this.pipeline(node.pipeline, dot, scope);
        if (!node.pipeline.decl.length) out += printValue(v);
      } else out += this.block(node, dot, scope);
    }
    return out;
  }

  private block(node: Extract<Node, { kind: "block" }>, dot: TemplateValue, outer: Scope): string {
    const scope = new Map(outer);
    const { pipeline } = node;
    if (node.keyword !== "range") {
      const v = this.pipeline(pipeline, dot, scope);
      if (!templateTruth(v)) return this.run(node.otherwise, dot, outer);
      return this.run(node.body, node.keyword === "with" ? v : dot, scope);
    }
    const v = this.pipeline({ decl: [], commands: pipeline.commands }, dot, scope);
    const entries = rangeEntries(v);
    if (!entries.length) return this.run(node.otherwise, dot, outer);
    let out = "";
    for (const [k, item] of entries) {
      const inner = new Map(scope);
      if (pipeline.decl.length === 1) inner.set(pipeline.decl[0]!, item);
      if (pipeline.decl.length === 2) (inner.set(pipeline.decl[0]!, k), inner.set(pipeline.decl[1]!, item));
      out += this.run(node.body, item, inner);
    }
    return out;
  }

  private pipeline(p: Pipeline, dot: TemplateValue, scope: Scope): TemplateValue {
    let value: TemplateValue = undefined;
    p.commands.forEach((cmd, i) => (value = this.command(cmd, dot, scope, i === 0 ? [] : [value])));
    for (const name of p.decl) scope.set(name, value);
    return value;
  }

  private command(cmd: Command, dot: TemplateValue, scope: Scope, piped: TemplateValue[]): TemplateValue {
    const [head, ...rest] = cmd.operands as [Operand, ...Operand[]];
    if (head.kind === "ident") {
      const fn = this.funcs[head.value];
      if (!fn) throw new TemplateError(`template: function "${head.value}" not defined`);
      return fn(...rest.map((o) => this.operand(o, dot, scope)), ...piped);
    }
    if (rest.length || piped.length) throw new TemplateError("template: can't give argument to non-function");
    return this.operand(head, dot, scope);
  }

  private operand(o: Operand, dot: TemplateValue, scope: Scope): TemplateValue {
    switch (o.kind) {
      case "string":
      case "number":
      case "bool":
        return o.value;
      case "field":
        return o.path.reduce(field, dot);
      case "var": {
        if (!scope.has(o.name)) throw new TemplateError(`template: undefined variable: ${o.name}`);
        return o.path.reduce(field, scope.get(o.name));
      }
      case "pipe":
        return this.pipeline(o.pipeline, dot, scope);
      case "ident": {
        const fn = this.funcs[o.value];
        if (!fn) throw new TemplateError(`template: function "${o.value}" not defined`);
        return fn();
      }
      default:
        throw new TemplateError("template: unexpected operand");
    }
  }
}

/** What range iterates: arrays by index, maps by sorted key (as Go does). */
function rangeEntries(v: TemplateValue): [TemplateValue, TemplateValue][] {
  if (v === undefined || v === null) return [];
  if (Array.isArray(v)) return v.map((x, i) => [i, x]);
  if (v instanceof Map) return [...v.keys()].sort().map((k) => [k, v.get(k)]);
  if (typeof v === "object") return Object.keys(v as object).sort().map((k) => [k, (v as Record<string, unknown>)[k]]);
  throw new TemplateError(`template: range can't iterate over ${printValue(v)}`);
}
