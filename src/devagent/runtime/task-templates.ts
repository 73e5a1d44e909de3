// Renders a task's Templates (EmbeddedTmpl -> DestPath under the task dir) before the task starts. Only a small
// subset of consul-template is understood: literal text and {{ env "NAME" }}. Other actions render empty (there
// is no Consul/Vault/Nomad-variable backend here). Templates with Envvars=true also feed the task's environment.

import { mkdir, writeFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";

export function renderTemplateText(text: string, env: Record<string, string>): string {
  return text.replace(/\{\{-?\s*(.*?)\s*-?\}\}/gs, (_whole, action: string) => {
    const envCall = /^env\s+"([^"]+)"$/.exec(action);
    return envCall ? (env[envCall[1]!] ?? "") : "";
  });
}

/** Parses the KEY=VALUE lines of an env template the way Nomad's envparse does (comments, quotes, export). */
export function parseEnvFile(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const rawLine of text.split(/\r?\n/)) {
    const line = rawLine.trim().replace(/^export\s+/, "");
    if (!line || line.startsWith("#")) continue;
    const eq = line.indexOf("=");
    if (eq <= 0) continue;
    let value = line.slice(eq + 1).trim();
    if (/^(["']).*\1$/.test(value)) value = value.slice(1, -1);
    out[line.slice(0, eq).trim()] = value;
  }
  return out;
}

/** Writes every template; returns the variables of the Envvars templates. */
export async function renderTemplates(templates: unknown, taskDir: string, env: Record<string, string>): Promise<Record<string, string>> {
  const vars: Record<string, string> = {};
  if (!Array.isArray(templates)) return vars;
  for (const tmpl of templates as Record<string, any>[]) {
    const text = renderTemplateText(String(tmpl.EmbeddedTmpl ?? ""), env);
    const dest = resolve(taskDir, String(tmpl.DestPath ?? "local/template.out"));
    if (!dest.startsWith(taskDir)) throw new Error(`template destination ${JSON.stringify(tmpl.DestPath)} escapes the task directory`);
    await mkdir(dirname(dest), { recursive: true });
    const perms = typeof tmpl.Perms === "string" && /^[0-7]{3,4}$/.test(tmpl.Perms) ? parseInt(tmpl.Perms, 8) : 0o644;
    await writeFile(dest, text, { mode: perms });
    if (tmpl.Envvars) Object.assign(vars, parseEnvFile(text));
  }
  return vars;
}
