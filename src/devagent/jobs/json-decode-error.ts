// Go's encoding/json rejects a value of the wrong JSON type before Nomad looks at the job; the HTTP agent answers
// 400 with the decoder's message. We reproduce that message for the fields the dev agent reads as typed values.

export class JsonDecodeError extends Error {}

type GoType = "int" | "int64" | "uint64" | "bool" | "string" | "float64";

function jsonKind(v: unknown): string {
  if (Array.isArray(v)) return "array";
  if (v === null) return "null";
  if (typeof v === "object") return "object";
  return typeof v;
}

/** Checks a decoded field against the Go type it lands in; `where` reads like Go's "TaskGroup.Job.TaskGroups.Count". */
export function expectType(value: unknown, goType: GoType, where: string): void {
  if (value === undefined || value === null) return;
  const ok =
    goType === "bool"
      ? typeof value === "boolean"
      : goType === "string"
        ? typeof value === "string"
        : typeof value === "number" && (goType === "float64" || Number.isInteger(value));
  if (ok) return;
  const kind = jsonKind(value);
  const shown = kind === "number" ? `number ${String(value)}` : kind;
  throw new JsonDecodeError(`json: cannot unmarshal ${shown} into Go struct field ${where} of type ${goType}`);
}

export function expectObject(value: unknown, goType: string, where: string): void {
  if (value === undefined || value === null || (typeof value === "object" && !Array.isArray(value))) return;
  throw new JsonDecodeError(`json: cannot unmarshal ${jsonKind(value)} into Go struct field ${where} of type ${goType}`);
}

export function expectArray(value: unknown, goType: string, where: string): void {
  if (value === undefined || value === null || Array.isArray(value)) return;
  throw new JsonDecodeError(`json: cannot unmarshal ${jsonKind(value)} into Go struct field ${where} of type ${goType}`);
}
