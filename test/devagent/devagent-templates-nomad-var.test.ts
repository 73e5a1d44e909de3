// Task templates in the dev agent: the Go template forms Nomad jobs use with nomadVar (with/.KEY, range $k, $v),
// custom delimiters, trim markers, env; Envvars templates parsed like Nomad's env-file parser; a task's workload
// identity reading variables (only its implicit paths when ACLs are on); unknown functions fail the task.

import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { parseEnvFile, renderTemplateText } from "../../src/devagent/runtime/task-templates.js";
import { api, until, withDevAgent } from "../helpers/dev-agent.js";
import type { DevAgent } from "../../src/devagent/index.js";

const vars: Record<string, Record<string, string>> = { "nomad/jobs/j/g/t": { USER: "me", PASS: "p<&>w" } };
const render = (text: string, opts: { leftDelim?: string; rightDelim?: string } = {}) =>
  renderTemplateText(text, { HOME_DIR: "/home/x" }, { ...opts, readVariable: (p) => vars[p] });

describe("template rendering", () => {
  it("reads a variable's items with `with` and field access, and skips the block when it is absent", () => {
    expect(render('{{ with nomadVar "nomad/jobs/j/g/t" }}u={{ .USER }} p={{ .PASS.Value }}{{ end }}')).toBe("u=me p=p<&>w");
    expect(render('{{ with nomadVar "nomad/jobs/missing" }}x{{ else }}none{{ end }}')).toBe("none");
  });

  it("ranges over items in key order with $k, $v and trims whitespace at - markers", () => {
    const text = '{{ with nomadVar "nomad/jobs/j/g/t" -}}\n{{ range $k, $v := . -}}\n{{ $k }}={{ $v }}\n{{ end -}}\n{{ end }}';
    expect(render(text)).toBe("PASS=p<&>w\nUSER=me\n");
  });

  it("pipes through replaceAll and toJSON (with Go's HTML escaping) and reads env", () => {
    expect(render('{{ with nomadVar "nomad/jobs/j/g/t" }}{{ .PASS.Value | replaceAll "&" "and" }} {{ .PASS | toJSON }}{{ end }}')).toBe(
      'p<and>w "p\\u003c\\u0026\\u003ew"',
    );
    expect(render('{{ env "HOME_DIR" }}/{{ env "NOPE" }}.')).toBe("/home/x/.");
  });

  it("honours custom delimiters, leaving {{ }} in the content alone", () => {
    expect(render('A={{ not a template }} B=[[cp0 env "HOME_DIR" cp0]]', { leftDelim: "[[cp0", rightDelim: "cp0]]" })).toBe(
      "A={{ not a template }} B=/home/x",
    );
  });

  it("fails on what Go would fail on: unknown functions, unclosed blocks", () => {
    expect(() => render('{{ key "consul/path" }}')).toThrow(/function "key" not defined/);
    expect(() => render("{{ with .X }}")).toThrow(/no \{\{end\}\}/);
  });

  it("parses env files like Nomad's envparse: quotes, escapes, trailing comments, export", () => {
    expect(parseEnvFile('export A="x \\"y\\"\\n\\tz"\nB=plain # comment\nC=\'single # kept\'\n\n')).toEqual({
      A: 'x "y"\n\tz',
      B: "plain",
      C: "single # kept",
    });
    expect(() => parseEnvFile('A="unterminated')).toThrow(/line 1: unmatched "/);
    // envparse wants KEY= on every non-empty line, so a comment-only line is an error there too.
    expect(() => parseEnvFile("A=1\n# note")).toThrow(/line 2: missing "="/);
  });
});

describe("templates in running tasks", () => {
  const dataDir = mkdtempSync(join(tmpdir(), "tmpl-"));
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  const job = (id: string, tmpl: string) => ({
    Job: {
      ID: id,
      TaskGroups: [
        {
          Name: "g",
          RestartPolicy: { Attempts: 0, Mode: "fail" },
          ReschedulePolicy: { Attempts: 0, Unlimited: false },
          Tasks: [
            {
              Name: "t",
              Driver: "raw_exec",
              Config: { command: "/bin/sh", args: ["-c", 'printf %s "$FROM_VAR" > "$NOMAD_ALLOC_DIR/out"; exec sleep 600'] },
              Templates: [{ EmbeddedTmpl: tmpl, DestPath: "secrets/vars.env", Envvars: true }],
            },
          ],
        },
      ],
    },
  });

  async function taskOutcome(agent: DevAgent, id: string): Promise<{ out?: string; failure?: string }> {
    return until(async () => {
      const [alloc] = (await api(agent, "GET", `/v1/job/${id}/allocations`)).json as { ID: string; ClientStatus: string; TaskStates: any }[];
      if (alloc?.ClientStatus === "failed") {
        const events = alloc.TaskStates.t.Events as { Type: string; DisplayMessage: string }[];
        return { failure: events.find((e) => e.Type === "Setup Failure")?.DisplayMessage ?? "failed" };
      }
      if (alloc?.ClientStatus !== "running") return undefined;
      try {
        return { out: readFileSync(join(dataDir, "alloc", alloc.ID, "alloc", "out"), "utf8") };
      } catch {
        return undefined;
      }
    }, `task of ${id} settled`);
  }

  it("feeds variable items into the task's environment; with ACLs only from the task's own paths", async () => {
    await withDevAgent(
      async (agent) => {
        await api(agent, "PUT", "/v1/var/nomad/jobs/own/g/t", { Items: { V: "mine" } });
        await api(agent, "PUT", "/v1/var/nomad/jobs/other/g/t", { Items: { V: "theirs" } });
        const read = (path: string) => `{{ with nomadVar "${path}" }}FROM_VAR={{ .V }}{{ else }}FROM_VAR=absent{{ end }}\n`;
        await api(agent, "POST", "/v1/jobs", job("own", read("nomad/jobs/own/g/t")));
        await api(agent, "POST", "/v1/jobs", job("thief", read("nomad/jobs/other/g/t")));
        expect(await taskOutcome(agent, "own")).toEqual({ out: "mine" });
        expect(await taskOutcome(agent, "thief")).toEqual({ out: "absent" });
        await api(agent, "POST", "/v1/jobs", job("broken", '{{ vault "x" }}'));
        expect((await taskOutcome(agent, "broken")).failure).toMatch(/function "vault" not defined/);
      },
      { acl: true, dataDir },
    );
  });
});
