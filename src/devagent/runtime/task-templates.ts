// Renders a task's Templates (EmbeddedTmpl -> DestPath under the task dir) before the task starts, with the
// template's own delimiters, through the Go text/template subset in go-template.ts and these consul-template
// functions: env, nomadVar (Nomad Variables from the agent's store, as the task's workload identity reads them),
// replaceAll, toJSON, toUpper, toLower, trimSpace. Consul/Vault functions are not defined here (an error, as an
// unknown function is for Go). Templates with Envvars=true feed the task's environment, parsed like Nomad's envparse.
// Not done: re-rendering on change (ChangeMode), splay, wait, source files, uid/gid.

import { mkdir, writeFile } from "node:fs/promises";
import { dirname, resolve, sep } from "node:path";
import { renderGoTemplate, TemplateError, type Stringer, type TemplateValue } from "./go-template.js";

export type VariableReader = (path: string) => Record<string, string> | undefined;

/** consul-template's NomadVarItem: prints as its value, exposes .Key and .Value. */
class VarItem implements Stringer {
  constructor(
    readonly Key: string,
    readonly Value: string,
  ) {}

  toTemplateString(): string {
    return this.Value;
  }
}

const str = (fn: string, v: TemplateValue): string => {
  if (typeof v !== "string") throw new TemplateError(`template: ${fn}: wrong type for value; expected string; got ${v instanceof VarItem ? "dependency.NomadVarItem" : typeof v}`);
  return v;
};

/** Go's json.Marshal: also escapes <, >, & and the JS line separators. */
function goJson(v: TemplateValue): string {
  const plain = v instanceof VarItem ? v.Value : v instanceof Map ? Object.fromEntries([...v].map(([k, x]) => [k, x instanceof VarItem ? x.Value : x])) : v;
  return JSON.stringify(plain ?? null).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

function templateFuncs(env: Record<string, string>, readVariable: VariableReader | undefined) {
  return {
    env: (name: TemplateValue) => env[str("env", name)] ?? "",
    nomadVar: (path: TemplateValue) => {
      // "path@namespace.region" selects another namespace/region; the workload identity only reads its own.
      const p = str("nomadVar", path).trim().replace(/^\/+|\/+$/g, "");
      if (p.includes("@")) return undefined;
      const items = readVariable?.(p);
      return items ? new Map(Object.entries(items).map(([k, v]) => [k, new VarItem(k, v)])) : undefined;
    },
    replaceAll: (from: TemplateValue, to: TemplateValue, s: TemplateValue) => str("replaceAll", s).split(str("replaceAll", from)).join(str("replaceAll", to)),
    toJSON: (v: TemplateValue) => goJson(v),
    toUpper: (s: TemplateValue) => str("toUpper", s).toUpperCase(),
    toLower: (s: TemplateValue) => str("toLower", s).toLowerCase(),
    trimSpace: (s: TemplateValue) => str("trimSpace", s).trim(),
  };
}

export function renderTemplateText(
  text: string,
  env: Record<string, string>,
  options: { leftDelim?: string; rightDelim?: string; readVariable?: VariableReader } = {},
): string {
  return renderGoTemplate(text, { leftDelim: options.leftDelim, rightDelim: options.rightDelim, funcs: templateFuncs(env, options.readVariable) });
}

/**
 * Parses an env template as hashicorp/go-envparse does: KEY=value lines, "export " prefix, # comments outside
 * quotes, single quotes verbatim, double quotes with \\ \" \n \t escapes; control characters are errors.
 */
export function parseEnvFile(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  text.split("\n").forEach((raw, i) => {
    const line = raw.endsWith("\r") ? raw.slice(0, -1) : raw;
    if (line === "") return;
    try {
      const parsed = parseEnvLine(line);
      if (parsed) out[parsed[0]] = parsed[1];
    } catch (err) {
      throw new Error(`error on line ${i + 1}: ${(err as Error).message}`);
    }
  });
  return out;
}

function parseEnvLine(line: string): [string, string] | undefined {
  const eq = line.indexOf("=");
  if (eq === -1) throw new Error('missing "="');
  const key = line.slice(0, eq).trim().replace(/^export /, "");
  if (!key) throw new Error("empty key");
  if (!/^[A-Za-z_]/.test(key)) throw new Error(`key must start with [A-Za-z_] but found '${key[0]}'`);
  const raw = line.slice(eq + 1).trim();
  let value = "";
  let lastSignificant = 0;
  let mode: "plain" | "double" | "single" | "escape" = "plain";
  for (const ch of raw) {
    if (ch.charCodeAt(0) < 32) throw new Error(`0x${ch.charCodeAt(0).toString(16).padStart(2, "0")} is an invalid value character`);
    if (mode === "plain") {
      if (ch === '"') mode = "double";
      else if (ch === "'") mode = "single";
      else if (ch === "#") return [key, value.slice(0, lastSignificant)];
      else {
        value += ch;
        if (ch !== " " && ch !== "\t") lastSignificant = value.length;
      }
    } else if (mode === "double") {
      if (ch === '"') mode = "plain";
      else if (ch === "\\") mode = "escape";
      else (value += ch), (lastSignificant = value.length);
    } else if (mode === "escape") {
      const esc: Record<string, string> = { '"': '"', "\\": "\\", n: "\n", t: "\t" };
      if (esc[ch] === undefined) throw new Error(`invalid escape sequence: ${ch}`);
      value += esc[ch];
      lastSignificant = value.length;
      mode = "double";
    } else if (ch === "'") mode = "plain";
    else (value += ch), (lastSignificant = value.length);
  }
  if (mode === "double") throw new Error('unmatched "');
  if (mode === "single") throw new Error("unmatched '");
  if (mode === "escape") throw new Error("incomplete escape sequence");
  return [key, value];
}

/** Writes every template; returns the variables of the Envvars templates. */
export async function renderTemplates(
  templates: unknown,
  taskDir: string,
  env: Record<string, string>,
  readVariable?: VariableReader,
): Promise<Record<string, string>> {
  const vars: Record<string, string> = {};
  if (!Array.isArray(templates)) return vars;
  for (const tmpl of templates as Record<string, any>[]) {
    const dest = resolve(taskDir, String(tmpl.DestPath ?? "local/template.out"));
    if (dest !== taskDir && !dest.startsWith(taskDir + sep)) {
      throw new Error(`template destination ${JSON.stringify(tmpl.DestPath)} escapes the task directory`);
    }
    let text: string;
    try {
      text = renderTemplateText(String(tmpl.EmbeddedTmpl ?? ""), env, { leftDelim: tmpl.LeftDelim, rightDelim: tmpl.RightDelim, readVariable });
    } catch (err) {
      throw new Error(`Template failed: ${dest}: ${(err as Error).message}`);
    }
    await mkdir(dirname(dest), { recursive: true });
    const perms = typeof tmpl.Perms === "string" && /^[0-7]{3,4}$/.test(tmpl.Perms) ? parseInt(tmpl.Perms, 8) : 0o644;
    await writeFile(dest, text, { mode: perms });
    if (tmpl.Envvars) {
      try {
        Object.assign(vars, parseEnvFile(text));
      } catch (err) {
        throw new Error(`Template failed: failed to read environment variables from ${dest}: ${(err as Error).message}`);
      }
    }
  }
  return vars;
}
