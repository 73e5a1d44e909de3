// Nomad's `filter` query parameter (API docs "Filtering"): a go-bexpr expression. Nomad 1.6 parses it with go-bexpr
// v0.1.12 (bexpr.CreateEvaluator in nomad/state/paginator/paginator.go), whose parser pigeon generates from a PEG
// grammar. A user who mistypes a filter reads that parser's error verbatim in the 400 answer, e.g.
//   1:10 (9): no match found, expected: "and", "or", [ \t\r\n] or EOF
//   1:10 (9): rule "grouping": Unmatched parentheses
// so this file runs the same grammar (rule for rule, alternative for alternative, in the same order) on a small
// backtracking engine that records failures as pigeon's does: the farthest position any matcher failed at and what it
// wanted there (inside a not-predicate, what it did not want: "!."), and errors from predicates and actions with the
// display name of the rule they occurred in. Positions are line:column (offset): columns count characters, offsets
// bytes of UTF-8. Only v0.1.12's grammar is spoken: `is nil` and `any`/`all` came with later go-bexpr versions.

import { GoStrconvError, goUnquote } from "./go-strconv.js";

export type MatchOperator = "==" | "!=" | "in" | "not in" | "is empty" | "is not empty" | "matches" | "not matches";

/** A selector: bexpr's dotted/indexed form (`a.b["c"]`) or a JSON pointer in quotes (`"/a/b"`); its path parts. */
export interface Selector {
  type: "bexpr" | "pointer";
  path: string[];
}

export type FilterAst =
  | { kind: "and" | "or"; left: FilterAst; right: FilterAst }
  | { kind: "not"; operand: FilterAst }
  | { kind: "match"; selector: Selector; operator: MatchOperator; value?: string };

/** A filter go-bexpr refuses, with go-bexpr's message (several errors are separated by newlines, as Go prints them). */
export class FilterSyntaxError extends Error {}

/** grammar.Selector.String(): how a selector reads as a value or in messages. */
export function selectorString(s: Selector): string {
  return s.path.join(s.type === "bexpr" ? "." : "/");
}

// ---- the engine: pigeon's matchers and its bookkeeping of failures ----

type Labels = Record<string, unknown>;
interface ActionContext {
  text: string;
  labels: Labels;
}

type Expr =
  | { t: "lit"; val: string; want: string }
  | { t: "class"; val: string; test: (cp: number) => boolean }
  | { t: "any" }
  | { t: "seq"; exprs: Expr[] }
  | { t: "choice"; alts: Expr[] }
  | { t: "opt" | "star" | "plus" | "not" | "and"; expr: Expr }
  | { t: "ref"; name: string }
  | { t: "label"; label: string; expr: Expr }
  // An action's error is recorded (at the action's start) and parsing goes on with the value it returned anyway.
  | { t: "action"; expr: Expr; run: (c: ActionContext) => { value: unknown; error?: string } }
  // A code predicate (&{...}); every one in this grammar fails with an error message.
  | { t: "refuse"; message: string };

interface Rule {
  name: string;
  display?: string;
  expr: Expr;
}

const lit = (val: string): Expr => ({ t: "lit", val, want: JSON.stringify(val) });
const cls = (val: string, test: (cp: number) => boolean): Expr => ({ t: "class", val, test });
const seq = (...exprs: Expr[]): Expr => ({ t: "seq", exprs });
const choice = (...alts: Expr[]): Expr => ({ t: "choice", alts });
const opt = (expr: Expr): Expr => ({ t: "opt", expr });
const star = (expr: Expr): Expr => ({ t: "star", expr });
const plus = (expr: Expr): Expr => ({ t: "plus", expr });
const not = (expr: Expr): Expr => ({ t: "not", expr });
const and = (expr: Expr): Expr => ({ t: "and", expr });
const ref = (name: string): Expr => ({ t: "ref", name });
const label = (name: string, expr: Expr): Expr => ({ t: "label", label: name, expr });
const action = (expr: Expr, run: (c: ActionContext) => unknown): Expr => ({ t: "action", expr, run: (c) => ({ value: run(c) }) });
const refuse = (message: string): Expr => ({ t: "refuse", message });
const any: Expr = { t: "any" };

interface Point {
  i: number; // index into the runes
  line: number;
  col: number;
  offset: number; // bytes
}

class Engine {
  readonly #runes: string[];
  readonly #bytes: number[];
  readonly #rules: Map<string, Rule>;
  #pt: Point = { i: 0, line: 1, col: 1, offset: 0 };
  #maxFail: Point = { i: 0, line: 1, col: 1, offset: 0 };
  #expected: string[] = [];
  #inverted = false;
  readonly #errors: string[] = [];
  readonly #rstack: Rule[] = [];
  readonly #vstack: Labels[] = [];
  /**
   * Rule results by rule, position and inversion. Without it nested parentheses cost exponential time (depth 10: tens
   * of seconds); with it answers are the same, since a rule parsed again at the same position would only record the
   * same failures and errors again, which the expected set and the deduplicated errors do not keep twice.
   */
  readonly #memo = new Map<string, { val: unknown; ok: boolean; end: Point }>();

  constructor(input: string, rules: Rule[]) {
    this.#runes = [...input];
    this.#bytes = this.#runes.map((r) => Buffer.byteLength(r));
    this.#rules = new Map(rules.map((r) => [r.name, r]));
    if (this.#runes[0] === "\n") this.#pt = { ...this.#pt, line: 2, col: 0 };
  }

  parse(start: string): unknown {
    const [val, ok] = this.#rule(this.#rules.get(start)!);
    if (!ok && this.#errors.length === 0) {
      const wanted = new Set(this.#expected);
      const eof = wanted.delete("!.");
      const list = [...wanted].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
      if (eof) list.push("EOF");
      this.#addErrorAt(`no match found, expected: ${listJoin(list)}`, this.#maxFail);
    }
    // Errors recorded on the way fail the parse even when the grammar matched (pigeon returns them with the value).
    if (this.#errors.length) throw new FilterSyntaxError(this.#errors.join("\n"));
    return val;
  }

  get #rn(): string | undefined {
    return this.#runes[this.#pt.i];
  }

  #read(): void {
    const r = this.#runes[this.#pt.i];
    const next = { ...this.#pt, i: this.#pt.i + 1, offset: this.#pt.offset + (r === undefined ? 0 : this.#bytes[this.#pt.i]!), col: this.#pt.col + 1 };
    // pigeon counts the newline itself as column 0 of the next line.
    if (this.#runes[next.i] === "\n") (next.line += 1), (next.col = 0);
    this.#pt = next;
  }

  #failAt(matched: boolean, at: Point, want: string): void {
    if (matched !== this.#inverted) return;
    if (at.offset < this.#maxFail.offset) return;
    if (at.offset > this.#maxFail.offset) (this.#maxFail = at), (this.#expected = []);
    this.#expected.push(this.#inverted ? "!" + want : want);
  }

  #addErrorAt(message: string, at: Point): void {
    const rule = this.#rstack[this.#rstack.length - 1];
    const where = `${at.line}:${at.col} (${at.offset})` + (rule ? `: rule ${rule.display ?? rule.name}` : "");
    const text = `${where}: ${message}`;
    if (!this.#errors.includes(text)) this.#errors.push(text);
  }

  #scoped<T>(fn: () => T): T {
    this.#vstack.push({});
    const out = fn();
    this.#vstack.pop();
    return out;
  }

  #rule(rule: Rule): [unknown, boolean] {
    this.#rstack.push(rule);
    const out = this.#scoped(() => this.#expr(rule.expr));
    this.#rstack.pop();
    return out;
  }

  #expr(e: Expr): [unknown, boolean] {
    switch (e.t) {
      case "lit": {
        const start = this.#pt;
        for (const want of e.val) {
          if (this.#rn !== want) {
            this.#failAt(false, start, e.want);
            this.#pt = start;
            return [undefined, false];
          }
          this.#read();
        }
        this.#failAt(true, start, e.want);
        return [e.val, true];
      }
      case "class":
      case "any": {
        const start = this.#pt;
        const r = this.#rn;
        const want = e.t === "any" ? "." : e.val;
        if (r === undefined || (e.t === "class" && !e.test(r.codePointAt(0)!))) {
          this.#failAt(false, start, want);
          return [undefined, false];
        }
        this.#read();
        this.#failAt(true, start, want);
        return [r, true];
      }
      case "seq": {
        const start = this.#pt;
        const vals: unknown[] = [];
        for (const x of e.exprs) {
          const [v, ok] = this.#expr(x);
          if (!ok) {
            this.#pt = start;
            return [undefined, false];
          }
          vals.push(v);
        }
        return [vals, true];
      }
      case "choice":
        for (const alt of e.alts) {
          const [v, ok] = this.#scoped(() => this.#expr(alt));
          if (ok) return [v, true];
        }
        return [undefined, false];
      case "opt":
        return [this.#scoped(() => this.#expr(e.expr))[0], true];
      case "star":
      case "plus": {
        const vals: unknown[] = [];
        for (;;) {
          const [v, ok] = this.#scoped(() => this.#expr(e.expr));
          if (!ok) return e.t === "plus" && vals.length === 0 ? [undefined, false] : [vals, true];
          vals.push(v);
        }
      }
      case "and":
      case "not": {
        const start = this.#pt;
        if (e.t === "not") this.#inverted = !this.#inverted;
        const [, ok] = this.#scoped(() => this.#expr(e.expr));
        if (e.t === "not") this.#inverted = !this.#inverted;
        this.#pt = start;
        return [undefined, e.t === "and" ? ok : !ok];
      }
      case "ref": {
        const key = `${e.name} ${this.#pt.i} ${this.#inverted}`;
        const known = this.#memo.get(key);
        if (known) {
          this.#pt = known.end;
          return [known.val, known.ok];
        }
        const [val, ok] = this.#rule(this.#rules.get(e.name)!);
        this.#memo.set(key, { val, ok, end: this.#pt });
        return [val, ok];
      }
      case "label": {
        const [v, ok] = this.#scoped(() => this.#expr(e.expr));
        if (ok) this.#vstack[this.#vstack.length - 1]![e.label] = v;
        return [v, ok];
      }
      case "action": {
        const start = this.#pt;
        const [, ok] = this.#expr(e.expr);
        if (!ok) return [undefined, false];
        const text = this.#runes.slice(start.i, this.#pt.i).join("");
        const { value, error } = e.run({ text, labels: this.#vstack[this.#vstack.length - 1]! });
        if (error) this.#addErrorAt(error, start);
        return [value, true];
      }
      case "refuse":
        this.#addErrorAt(e.message, this.#pt);
        return [undefined, false];
    }
  }
}

function listJoin(list: string[]): string {
  if (list.length <= 1) return list.join("");
  return list.slice(0, -1).join(", ") + " or " + list[list.length - 1];
}

// ---- go-bexpr v0.1.12's grammar (grammar/grammar.peg) ----

const isSpace = (cp: number) => cp === 0x20 || cp === 0x09 || cp === 0x0d || cp === 0x0a;
const isLetter = (cp: number) => (cp >= 0x61 && cp <= 0x7a) || (cp >= 0x41 && cp <= 0x5a);
const isDigit = (cp: number) => cp >= 0x30 && cp <= 0x39;
const isPointerChar = (cp: number) => "-_.~:|".includes(String.fromCodePoint(cp)) || /[\p{L}\p{N}]/u.test(String.fromCodePoint(cp));

const _ = ref("_");
const L = (c: ActionContext, name: string) => c.labels[name];
const op = (operator: MatchOperator) => (): MatchOperator => operator;

/** pointerstructure.Parse of "/" + the segments: "~1" and "~0" unescape to "/" and "~". */
const pointerParts = (segs: string[]) => ("/" + segs.join("/")).slice(1).split("/").map((p) => p.replaceAll("~1", "/").replaceAll("~0", "~"));

const rules: Rule[] = [
  {
    name: "Input",
    expr: choice(
      action(seq(opt(_), lit("("), opt(_), label("expr", ref("OrExpression")), opt(_), lit(")"), opt(_), ref("EOF")), (c) => L(c, "expr")),
      action(seq(opt(_), label("expr", ref("OrExpression")), opt(_), ref("EOF")), (c) => L(c, "expr")),
    ),
  },
  {
    name: "OrExpression",
    expr: choice(
      action(seq(label("left", ref("AndExpression")), _, lit("or"), _, label("right", ref("OrExpression"))), (c) => ({
        kind: "or",
        left: L(c, "left"),
        right: L(c, "right"),
      })),
      action(label("expr", ref("AndExpression")), (c) => L(c, "expr")),
    ),
  },
  {
    name: "AndExpression",
    expr: choice(
      action(seq(label("left", ref("NotExpression")), _, lit("and"), _, label("right", ref("AndExpression"))), (c) => ({
        kind: "and",
        left: L(c, "left"),
        right: L(c, "right"),
      })),
      action(label("expr", ref("NotExpression")), (c) => L(c, "expr")),
    ),
  },
  {
    name: "NotExpression",
    expr: choice(
      action(seq(lit("not"), _, label("expr", ref("NotExpression"))), (c) => {
        const inner = L(c, "expr") as FilterAst;
        // go-bexpr drops double negations ("not not x" is x).
        return inner.kind === "not" ? inner.operand : { kind: "not", operand: inner };
      }),
      action(label("expr", ref("ParenthesizedExpression")), (c) => L(c, "expr")),
    ),
  },
  {
    name: "ParenthesizedExpression",
    display: '"grouping"',
    expr: choice(
      action(seq(lit("("), opt(_), label("expr", ref("OrExpression")), opt(_), lit(")")), (c) => L(c, "expr")),
      action(label("expr", ref("MatchExpression")), (c) => L(c, "expr")),
      seq(lit("("), opt(_), ref("OrExpression"), opt(_), not(lit(")")), refuse("Unmatched parentheses")),
    ),
  },
  { name: "MatchExpression", display: '"match"', expr: choice(ref("MatchSelectorOpValue"), ref("MatchSelectorOp"), ref("MatchValueOpSelector")) },
  {
    name: "MatchSelectorOpValue",
    display: '"match"',
    expr: action(
      seq(
        label("selector", ref("Selector")),
        label("operator", choice(...["MatchEqual", "MatchNotEqual", "MatchContains", "MatchNotContains", "MatchMatches", "MatchNotMatches"].map(ref))),
        label("value", ref("Value")),
      ),
      (c) => ({ kind: "match", selector: L(c, "selector"), operator: L(c, "operator"), value: L(c, "value") }),
    ),
  },
  {
    name: "MatchSelectorOp",
    display: '"match"',
    expr: action(seq(label("selector", ref("Selector")), label("operator", choice(ref("MatchIsEmpty"), ref("MatchIsNotEmpty")))), (c) => ({
      kind: "match",
      selector: L(c, "selector"),
      operator: L(c, "operator"),
    })),
  },
  {
    name: "MatchValueOpSelector",
    display: '"match"',
    expr: choice(
      action(seq(label("value", ref("Value")), label("operator", choice(ref("MatchIn"), ref("MatchNotIn"))), label("selector", ref("Selector"))), (c) => ({
        kind: "match",
        selector: L(c, "selector"),
        operator: L(c, "operator"),
        value: L(c, "value"),
      })),
      seq(ref("Value"), label("operator", choice(ref("MatchIn"), ref("MatchNotIn"))), not(ref("Selector")), refuse("Invalid selector")),
    ),
  },
  { name: "MatchEqual", expr: action(seq(opt(_), lit("=="), opt(_)), op("==")) },
  { name: "MatchNotEqual", expr: action(seq(opt(_), lit("!="), opt(_)), op("!=")) },
  { name: "MatchIsEmpty", expr: action(seq(_, lit("is"), _, lit("empty")), op("is empty")) },
  { name: "MatchIsNotEmpty", expr: action(seq(_, lit("is"), _, lit("not"), _, lit("empty")), op("is not empty")) },
  { name: "MatchIn", expr: action(seq(_, lit("in"), _), op("in")) },
  { name: "MatchNotIn", expr: action(seq(_, lit("not"), _, lit("in"), _), op("not in")) },
  { name: "MatchContains", expr: action(seq(_, lit("contains"), _), op("in")) },
  { name: "MatchNotContains", expr: action(seq(_, lit("not"), _, lit("contains"), _), op("not in")) },
  { name: "MatchMatches", expr: action(seq(_, lit("matches"), _), op("matches")) },
  { name: "MatchNotMatches", expr: action(seq(_, lit("not"), _, lit("matches"), _), op("not matches")) },
  {
    name: "Selector",
    display: '"selector"',
    expr: choice(
      action(seq(label("first", ref("Identifier")), label("rest", star(ref("SelectorOrIndex")))), (c): Selector => ({
        type: "bexpr",
        path: [L(c, "first") as string, ...(L(c, "rest") as string[])],
      })),
      action(seq(lit('"'), label("ptrsegs", star(ref("JsonPointerSegment"))), lit('"')), (c): Selector => ({
        type: "pointer",
        path: pointerParts(L(c, "ptrsegs") as string[]),
      })),
    ),
  },
  { name: "JsonPointerSegment", expr: action(seq(lit("/"), label("ident", plus(cls("[\\pL\\pN-_.~:|]", isPointerChar)))), (c) => c.text.slice(1)) },
  { name: "Identifier", expr: action(seq(cls("[a-zA-Z]", isLetter), star(cls("[a-zA-Z0-9_/]", (cp) => isLetter(cp) || isDigit(cp) || cp === 0x5f || cp === 0x2f))), (c) => c.text) },
  {
    name: "SelectorOrIndex",
    expr: choice(
      action(seq(lit("."), label("ident", ref("Identifier"))), (c) => L(c, "ident")),
      action(label("expr", ref("IndexExpression")), (c) => L(c, "expr")),
      action(seq(lit("."), label("idx", plus(cls("[0-9]", isDigit)))), (c) => c.text.slice(1)),
    ),
  },
  {
    name: "IndexExpression",
    display: '"index"',
    expr: choice(
      action(seq(lit("["), opt(_), label("lit", ref("StringLiteral")), opt(_), lit("]")), (c) => L(c, "lit")),
      seq(lit("["), opt(_), not(ref("StringLiteral")), refuse("Invalid index")),
      seq(lit("["), opt(_), ref("StringLiteral"), opt(_), not(lit("]")), refuse("Unclosed index expression")),
    ),
  },
  {
    name: "Value",
    display: '"value"',
    expr: choice(
      action(label("selector", ref("Selector")), (c) => selectorString(L(c, "selector") as Selector)),
      action(label("n", ref("NumberLiteral")), (c) => L(c, "n")),
      action(label("s", ref("StringLiteral")), (c) => L(c, "s")),
    ),
  },
  {
    name: "NumberLiteral",
    display: '"number"',
    expr: choice(
      action(seq(opt(lit("-")), ref("IntegerOrFloat"), and(ref("AfterNumbers"))), (c) => c.text),
      seq(opt(lit("-")), ref("IntegerOrFloat"), not(ref("AfterNumbers")), refuse("Invalid number literal")),
    ),
  },
  { name: "AfterNumbers", expr: and(choice(_, ref("EOF"), lit(")"))) },
  {
    name: "IntegerOrFloat",
    expr: seq(choice(lit("0"), seq(cls("[1-9]", (cp) => cp >= 0x31 && cp <= 0x39), star(cls("[0-9]", isDigit)))), opt(seq(lit("."), plus(cls("[0-9]", isDigit))))),
  },
  {
    name: "StringLiteral",
    display: '"string"',
    expr: choice(
      {
        t: "action",
        expr: choice(seq(lit("`"), star(ref("RawStringChar")), lit("`")), seq(lit('"'), star(ref("DoubleStringChar")), lit('"'))),
        // strconv.Unquote's ("", err) becomes the value "" and a recorded error.
        run: (c) => {
          try {
            return { value: goUnquote(c.text) };
          } catch (err) {
            if (!(err instanceof GoStrconvError)) throw err;
            return { value: "", error: err.message };
          }
        },
      },
      seq(choice(seq(lit("`"), star(ref("RawStringChar"))), seq(lit('"'), star(ref("DoubleStringChar")))), ref("EOF"), refuse("Unterminated string literal")),
    ),
  },
  { name: "RawStringChar", expr: seq(not(lit("`")), any) },
  { name: "DoubleStringChar", expr: seq(not(lit('"')), any) },
  { name: "_", display: '"whitespace"', expr: plus(cls("[ \\t\\r\\n]", isSpace)) },
  { name: "EOF", expr: not(any) },
];

/** bexpr.CreateEvaluator's parse: the expression's syntax tree, or FilterSyntaxError with go-bexpr's message. */
export function parseFilter(expression: string): FilterAst {
  return new Engine(expression, rules).parse("Input") as FilterAst;
}
