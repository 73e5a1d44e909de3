// Evaluating a parsed filter (filter-expression.ts) against one object of a list, as go-bexpr v0.1.12's
// Evaluator.Evaluate does for Nomad 1.6 (evaluate.go): `and`/`or` short-circuit, `not` keeps an error, a selector is
// looked up field by field (pointerstructure), the filter's value is coerced to the type of the field it meets
// (strconv), and what Go cannot do is an error whose text Nomad puts in its 400 answer.
//
// Nomad evaluates the object it stores (a Go struct: *structs.Job, *structs.Allocation, ...), not the stub it lists,
// so callers pass the full object as this agent keeps it. Go knows each field's type; JSON does not, so types are
// inferred, which is where this can differ from Nomad in error texts and odd corners (never for strings):
//   - an object is a Go map when its field is one of Nomad's map-typed fields (Meta, TaskStates, FailedTGAllocs, ...
//     below) or lies inside a free-form map (task Config); any other object is a struct;
//   - an integer is uint64 when Nomad's field of that name is (ModifyIndex, JobVersion, Restarts, ...), else int;
//     a fractional number float64;
//   - null is a nil map for those fields, a nil slice for plural names (Constraints, Tags), else a nil pointer;
//   - where Go panics (`is empty` of a number, bool, struct or nil pointer; `matches` on a nil pointer) this answers
//     the panic's text as an evaluation error;
//   - regular expressions run on JavaScript's engine after translating RE2's (?flags) and (?P<name>); Go's compile
//     errors are reproduced for the common cases only.

import type { FilterAst, MatchOperator, Selector } from "./filter-expression.js";
import { selectorString } from "./filter-expression.js";
import { GoStrconvError, goQuote, invalidSyntax, parseGoBool, parseGoFloat, parseGoInt, parseGoUint } from "./go-strconv.js";

/** An evaluation go-bexpr fails, with its message (Nomad answers 400 "failed to read result page: " + message). */
export class FilterEvaluationError extends Error {}

type Kind = "string" | "bool" | "int" | "int64" | "uint64" | "float64" | "slice" | "map" | "struct" | "nil";

/** Nomad's map-typed fields in jobs, allocations, deployments and evaluations (and the structs inside them). */
const mapFields = new Set([
  "Meta",
  "Env",
  "Config",
  "TaskGroups",
  "TaskStates",
  "Tasks",
  "TaskLifecycles",
  "TaskResources",
  "Services",
  "Volumes",
  "Headers",
  "NodesAvailable",
  "ClassFiltered",
  "ConstraintFiltered",
  "ClassExhausted",
  "DimensionExhausted",
  "QuotaExhausted",
  "ResourcesExhausted",
  "Scores",
  "FailedTGAllocs",
  "ClassEligibility",
  "QueuedAllocations",
  "DesiredTGUpdates",
]);
/** Maps of interface{} values: every object inside is a map too. */
const freeFormMaps = new Set(["Config"]);
/** Nomad's uint64 fields (indexes, versions, counters of DesiredUpdates); other integers are int, and NormScore a float. */
const uintFields = /(Index|^(Version|JobVersion|Restarts|Preemptions|DestructiveUpdate|InPlaceUpdate|Ignore|Place|Migrate|Features))$/;
const floatFields = new Set(["NormScore"]);
/** int64 fields: times in nanoseconds. */
const int64Fields = /(Time|UpdatedAt)$/;
/** Plural fields are slices (null: a nil slice); other nulls are nil pointers, except these plural-named structs. */
const singularStructs = new Set(["Resources", "AllocatedResources", "SharedResources", "Metrics", "Stats"]);

interface Typed {
  value: unknown;
  kind: Kind;
  freeForm: boolean;
}

function typed(value: unknown, key: string | undefined, parent: Typed | undefined): Typed {
  const freeForm = parent?.freeForm === true || (parent?.kind === "struct" && key !== undefined && freeFormMaps.has(key));
  const mapField = freeForm || (parent?.kind === "struct" && key !== undefined && mapFields.has(key));
  let kind: Kind;
  if (value === null || value === undefined) {
    kind = mapField ? "map" : key !== undefined && key.endsWith("s") && !singularStructs.has(key) ? "slice" : "nil";
  }
  else if (typeof value === "string") kind = "string";
  else if (typeof value === "boolean") kind = "bool";
  else if (typeof value === "number") {
    if (!Number.isInteger(value) || (key !== undefined && floatFields.has(key))) kind = "float64";
    else kind = key === undefined ? "int" : uintFields.test(key) ? "uint64" : int64Fields.test(key) ? "int64" : "int";
  }
  else if (Array.isArray(value)) kind = "slice";
  else kind = mapField ? "map" : "struct";
  return { value: kind === "slice" && value === null ? [] : value, kind, freeForm };
}

/** reflect.Kind's names, as Go prints them in these errors. */
const kindName = (k: Kind) => (k === "nil" ? "invalid" : k);

/** pointerstructure's Pointer.String(): "/"-joined, "~" and "/" escaped. */
const pointerString = (path: string[]) => "/" + path.map((p) => p.replaceAll("~", "~0").replaceAll("/", "~1")).join("/");

class NotFound extends Error {}

/** pointerstructure's Get: the value at `path`, or an error worded as pointerstructure words it. */
function lookup(datum: unknown, path: string[]): Typed {
  let current = typed(datum, undefined, undefined);
  current.kind = "struct";
  const ptr = pointerString(path);
  for (let i = 0; i < path.length; i++) {
    const part = path[i]!;
    const at = (e: string, cls: new (m: string) => Error = Error) => new cls(`${ptr} at part ${i}: ${e}`);
    if (current.kind === "map") {
      const obj = (current.value ?? {}) as Record<string, unknown>;
      if (!Object.hasOwn(obj, part)) throw at(`couldn't find key ${goQuote(part)}`, NotFound);
      current = typed(obj[part], part, current);
    } else if (current.kind === "struct") {
      const obj = current.value as Record<string, unknown>;
      if (!Object.hasOwn(obj, part)) throw at(`couldn't find key: struct field with name ${goQuote(part)}`, NotFound);
      current = typed(obj[part], part, current);
    } else if (current.kind === "slice") {
      const arr = current.value as unknown[];
      let idx: bigint;
      try {
        idx = part === "" ? 0n : parseGoInt(part);
      } catch {
        throw at(`couldn't convert value ${goQuote(part)} to type int`);
      }
      if (idx < 0n || idx >= BigInt(arr.length)) throw at(`index ${idx} is out of range (length = ${arr.length})`);
      const elem = typed(arr[Number(idx)], undefined, undefined);
      current = elem.kind === "map" || elem.kind === "struct" ? { ...elem, kind: current.freeForm ? "map" : "struct", freeForm: current.freeForm } : elem;
    } else {
      throw new Error(`${ptr}: at part ${i}, invalid value kind: ${kindName(current.kind)}`);
    }
  }
  return current;
}

/** evaluateNotPresent: a missing leaf of a map leaves the answer to the operator; anything else missing is an error. */
function parentIsMap(datum: unknown, path: string[]): boolean {
  if (path.length < 2) return false;
  try {
    return lookup(datum, path.slice(0, -1)).kind === "map";
  } catch {
    return false;
  }
}

/** MatchOperator.NotPresentDisposition. */
const notPresent: Record<MatchOperator, boolean> = {
  "==": false,
  "!=": true,
  in: false,
  "not in": true,
  "is empty": true,
  "is not empty": false,
  matches: false,
  "not matches": true,
};

/** getMatchExprValue: the filter's raw value as the Go type of `kind`. */
function coerce(raw: string, kind: Kind): string | boolean | bigint | number {
  switch (kind) {
    case "bool":
      return parseGoBool(raw);
    case "int":
    case "int64":
      return parseGoInt(raw);
    case "uint64":
      return parseGoUint(raw);
    case "float64":
      return parseGoFloat(raw);
    default:
      return raw;
  }
}

function coerced(raw: string, kind: Kind): string | boolean | bigint | number {
  try {
    return coerce(raw, kind);
  } catch (err) {
    if (err instanceof GoStrconvError) throw new Error(`error getting match value in expression: ${err.message}`);
    throw err;
  }
}

const primitive = (k: Kind) => k === "string" || k === "bool" || k === "int" || k === "int64" || k === "uint64" || k === "float64";

function equal(want: string | boolean | bigint | number, value: unknown): boolean {
  if (typeof want === "bigint") return Number.isSafeInteger(value) ? want === BigInt(value as number) : Number(want) === value;
  return want === value;
}

function doEqual(raw: string, v: Typed): boolean {
  if (!primitive(v.kind)) throw new Error("unable to find suitable primitive comparison function for matching");
  return equal(coerced(raw, v.kind), v.value);
}

/** The Go kind of a slice's elements, judged from its JSON elements. */
function elementKind(v: Typed): Kind | "interface" {
  if (v.freeForm) return "interface";
  const kinds = new Set((v.value as unknown[]).map((e) => typed(e, undefined, undefined).kind));
  if (kinds.size === 0) return "string";
  if (kinds.size > 1) return kinds.size === 2 && kinds.has("struct") && kinds.has("nil") ? "struct" : "interface";
  const [k] = kinds;
  return k === "nil" ? "struct" : k!;
}

function doIn(raw: string, v: Typed, selector: Selector): boolean {
  coerced(raw, v.kind);
  switch (v.kind) {
    case "map":
      return v.value !== null && v.value !== undefined && Object.hasOwn(v.value as object, raw);
    case "string":
      return (v.value as string).includes(raw);
    case "slice": {
      const items = v.value as unknown[];
      const ek = elementKind(v);
      if (ek === "interface") {
        for (const item of items) {
          const it = typed(item, undefined, v);
          let want;
          try {
            want = coerce(raw, it.kind);
          } catch (err) {
            if (err instanceof GoStrconvError && err.message.endsWith(invalidSyntax)) continue;
            throw new Error("error getting interface slice match value in expression");
          }
          if (!primitive(it.kind)) throw new Error(`unable to find suitable primitive comparison function for "in" comparison in interface slice: ${kindName(it.kind)}`);
          if (equal(want, it.value)) return true;
        }
        return false;
      }
      const want = coerced(raw, ek);
      if (!primitive(ek)) throw new Error(`unable to find suitable primitive comparison function for "in" comparison`);
      return items.some((item) => equal(want, item));
    }
    default:
      throw new Error(`Cannot perform in/contains operations on type ${kindName(v.kind)} for selector: ${goQuote(selectorString(selector))}`);
  }
}

function doIsEmpty(v: Typed): boolean {
  switch (v.kind) {
    case "string":
    case "slice":
      return (v.value as string | unknown[]).length === 0;
    case "map":
      return v.value === null || v.value === undefined || Object.keys(v.value as object).length === 0;
    default:
      throw new Error(`reflect: call of reflect.Value.Len on ${v.kind === "nil" ? "zero" : kindName(v.kind)} Value`);
  }
}

/** The Go type's name as reflect prints it, as far as JSON tells (struct names it cannot: "struct {}"). */
function goTypeName(v: Typed): string {
  const elements = (values: unknown[]) => {
    const kinds = new Set(values.map((e) => typed(e, undefined, undefined).kind));
    const [k] = kinds;
    return !v.freeForm && kinds.size === 1 && primitive(k!) ? k! : "interface {}";
  };
  switch (v.kind) {
    case "slice":
      return `[]${(v.value as unknown[]).length ? elements(v.value as unknown[]) : "string"}`;
    case "map":
      return `map[string]${elements(Object.values((v.value ?? {}) as object))}`;
    case "struct":
      return "struct {}";
    default:
      return kindName(v.kind);
  }
}

/** go-bexpr caches a compiled expression on the syntax tree, as Go caches it in MatchValue.Converted. */
const compiled = new WeakMap<object, RegExp>();

function doMatches(node: object, raw: string, v: Typed): boolean {
  if (v.kind === "nil") throw new Error("reflect: call of reflect.Value.Type on zero Value");
  if (v.kind !== "string") throw new Error(`Value of type ${goTypeName(v)} is not convertible to []byte`);
  let re = compiled.get(node);
  if (!re) {
    re = compileRe2(raw);
    compiled.set(node, re);
  }
  return re.test(v.value as string);
}

/** RE2's POSIX classes ([[:alpha:]]) as JavaScript ranges. */
const posixClasses: Record<string, string> = {
  alnum: "0-9A-Za-z",
  alpha: "A-Za-z",
  ascii: "\\x00-\\x7F",
  blank: "\\t ",
  cntrl: "\\x00-\\x1F\\x7F",
  digit: "0-9",
  graph: "!-~",
  lower: "a-z",
  print: " -~",
  punct: "!-/:-@[-`{-~",
  space: "\\t\\n\\v\\f\\r ",
  upper: "A-Z",
  word: "0-9A-Za-z_",
  xdigit: "0-9A-Fa-f",
};

/**
 * An RE2 pattern (Go's regexp) as a JavaScript RegExp, or Go's "Failed to compile" error. Whether a match exists is
 * all `matches` asks, so RE2's ungreedy flag (U) can go; (?P<name>, \A, \z, \pL and [[:alpha:]] are translated.
 */
function compileRe2(raw: string): RegExp {
  const fail = (why: string) => new Error(`Failed to compile regular expression ${goQuote(raw)}: error parsing regexp: ${why}`);
  // Go 1.20/1.21 (Nomad 1.6's) know no lookaround, no (?<name> and no backreferences.
  const perl = /\(\?(=|!|<)/.exec(raw);
  if (perl) throw fail(`invalid or unsupported Perl syntax: \`${perl[0]}\``);
  const backref = /\\[1-9]/.exec(raw);
  if (backref) throw fail(`invalid escape sequence: \`${backref[0]}\``);
  const nested = /(?<!\\)[*+?][*+]/.exec(raw.replace(/\[[^\]]*\]/g, "x"));
  if (nested) throw fail(`invalid nested repetition operator: \`${nested[0]}\``);
  const range = /\[[^\]]*?([^\\\]])-([^\]])/.exec(raw);
  if (range && range[1]! > range[2]!) throw fail(`invalid character class range: \`${range[1]}-${range[2]}\``);
  let source = raw
    .replaceAll("(?P<", "(?<")
    .replaceAll("\\z", "$")
    .replaceAll("\\A", "^")
    .replace(/\[:(\w+):\]/g, (m, name: string) => posixClasses[name] ?? m);
  let flags = "";
  if (/\\[pP]/.test(source)) {
    source = source.replace(/\\([pP])([A-Za-z])/g, "\\$1{$2}");
    flags += "u";
  }
  const lead = /^\(\?([imsU]+)\)/.exec(source);
  if (lead) {
    flags += [...new Set(lead[1]!.replaceAll("U", ""))].join("");
    source = source.slice(lead[0].length);
  }
  try {
    return new RegExp(source, flags);
  } catch (err) {
    const open = (raw.match(/(?<!\\)\(/g) ?? []).length;
    const close = (raw.match(/(?<!\\)\)/g) ?? []).length;
    if (open > close) throw fail(`missing closing ): \`${raw}\``);
    if (close > open) throw fail(`unexpected ): \`${raw}\``);
    if (/(?<!\\)\[/.test(raw) && !/(?<!\\)\]/.test(raw)) throw fail(`missing closing ]: \`${raw.slice(raw.search(/(?<!\\)\[/))}\``);
    const count = /\{(\d+),(\d+)\}/.exec(raw);
    if (count && Number(count[1]) > Number(count[2])) throw fail(`invalid repeat count: \`${count[0]}\``);
    const rep = /^[*+?]|\([*+?]|\|[*+?]/.exec(raw);
    if (rep) throw fail(`missing argument to repetition operator: \`${rep[0].slice(-1)}\``);
    throw fail((err as Error).message);
  }
}

function evaluateMatch(node: Extract<FilterAst, { kind: "match" }>, datum: unknown): boolean {
  let v: Typed;
  try {
    v = lookup(datum, node.selector.path);
  } catch (err) {
    if (err instanceof NotFound && parentIsMap(datum, node.selector.path)) return notPresent[node.operator];
    throw new Error(`error finding value in datum: ${(err as Error).message}`);
  }
  const raw = node.value ?? "";
  switch (node.operator) {
    case "==":
      return doEqual(raw, v);
    case "!=":
      return !doEqual(raw, v);
    case "in":
      return doIn(raw, v, node.selector);
    case "not in":
      return !doIn(raw, v, node.selector);
    case "is empty":
      return doIsEmpty(v);
    case "is not empty":
      return !doIsEmpty(v);
    case "matches":
      return doMatches(node, raw, v);
    case "not matches":
      return !doMatches(node, raw, v);
  }
}

function evaluate(ast: FilterAst, datum: unknown): boolean {
  switch (ast.kind) {
    case "not":
      return !evaluate(ast.operand, datum);
    case "and":
      return evaluate(ast.left, datum) && evaluate(ast.right, datum);
    case "or":
      return evaluate(ast.left, datum) || evaluate(ast.right, datum);
    case "match":
      return evaluateMatch(ast, datum);
  }
}

/** Whether `datum` passes the filter; FilterEvaluationError with go-bexpr's message when Go would fail. */
export function evaluateFilter(ast: FilterAst, datum: unknown): boolean {
  try {
    return evaluate(ast, datum);
  } catch (err) {
    if (err instanceof FilterEvaluationError) throw err;
    throw new FilterEvaluationError((err as Error).message);
  }
}
