// CLI: node dist/devagent.js --port 4646 [--host 127.0.0.1] [--acl] [--tls-cert F --tls-key F [--tls-ca F]] (--help: usage on stderr)
//      [--data-dir D] [--region R] [--datacenter DC] [--host-volume NAME=PATH ...] [--cpu-mhz N] [--memory-mb N]
//      [--driver-override mock_driver]
// Prints the address (and with --acl the management and scoped tokens, which the operator needs) on stderr: one hclog
// JSON line for machines and one human line. Stops every task on SIGINT/SIGTERM.
import { parseArgs } from "node:util";
import { createLogger } from "../log.js";
import { startDevAgent } from "./dev-agent.js";

const log = createLogger({ module: "devagent" });

const usage = `Usage: devagent [flags]

A single-node, Nomad-API-compatible agent that runs tasks as local processes (like \`nomad agent -dev\`).
  --port N                       HTTP port (default 4646; 0 = any free port)
  --host H                       address to listen on (default 127.0.0.1)
  --acl                          require an ACL token; the management token and the scoped tokens (read,
                                 read-logs, no-read-job: see src/devagent/acl.ts) are printed on start
  --tls-cert F --tls-key F       serve HTTPS; --tls-ca F additionally requires client certificates from that CA
  --data-dir D                   allocation directories (default: a temporary directory)
  --region R, --datacenter DC    the node's region and datacenter (default global, dc1)
  --host-volume NAME=/path       a client host volume (repeatable)
  --cpu-mhz N, --memory-mb N     the node's capacity (default: this machine's)
  --driver-override mock_driver  run every task with Nomad's mock driver, no process (scale tests): long-lived
                                 tasks run until stopped, hooks exit 0; mock_driver tasks keep their own config
  -h, --help                     this text
`;

class UsageError extends Error {}

function parseFlags() {
  try {
    return parseArgs({
      options: {
        help: { type: "boolean", short: "h", default: false },
        port: { type: "string", default: "4646" },
        host: { type: "string", default: "127.0.0.1" },
        acl: { type: "boolean", default: false },
        "tls-cert": { type: "string" },
        "tls-key": { type: "string" },
        "tls-ca": { type: "string" },
        "data-dir": { type: "string" },
        region: { type: "string" },
        datacenter: { type: "string" },
        "host-volume": { type: "string", multiple: true },
        "cpu-mhz": { type: "string" },
        "memory-mb": { type: "string" },
        "driver-override": { type: "string" },
      },
      strict: true,
    }).values;
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

async function main(): Promise<void> {
  const values = parseFlags();
  if (values.help) {
    process.stderr.write(usage);
    process.exit(0);
  }
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--port: not a port number: ${values.port}`);
  if (!!values["tls-cert"] !== !!values["tls-key"]) throw new UsageError("--tls-cert and --tls-key go together");
  const hostVolumes: Record<string, string> = {};
  for (const spec of values["host-volume"] ?? []) {
    const [name, path] = [spec.slice(0, spec.indexOf("=")), spec.slice(spec.indexOf("=") + 1)];
    if (!name || spec.indexOf("=") < 0 || !path.startsWith("/")) throw new UsageError(`--host-volume: expected NAME=/absolute/path, got ${spec}`);
    hostVolumes[name] = path;
  }
  const positive = (flag: string, v: string | undefined) => {
    if (v === undefined) return undefined;
    if (!/^[1-9]\d*$/.test(v)) throw new UsageError(`--${flag}: not a positive integer: ${v}`);
    return Number(v);
  };
  const override = values["driver-override"];
  if (override !== undefined && override !== "mock_driver") throw new UsageError(`--driver-override: only mock_driver is supported, got ${override}`);
  const cpuMhz = positive("cpu-mhz", values["cpu-mhz"]);
  const memoryMb = positive("memory-mb", values["memory-mb"]);
  const agent = await startDevAgent({
    port,
    host: values.host,
    acl: values.acl,
    ...(values["data-dir"] ? { dataDir: values["data-dir"] } : {}),
    ...(values.region ? { region: values.region } : {}),
    ...(values.datacenter ? { datacenter: values.datacenter } : {}),
    hostVolumes,
    ...(override ? { driverOverride: override } : {}),
    nodeResources: { ...(cpuMhz ? { cpuMhz } : {}), ...(memoryMb ? { memoryMb } : {}) },
    ...(values["tls-cert"] ? { tls: { cert: values["tls-cert"], key: values["tls-key"]!, ...(values["tls-ca"] ? { ca: values["tls-ca"] } : {}) } } : {}),
  });
  log.info("dev agent started", { address: agent.address, acl: values.acl });
  const scoped = Object.entries(agent.tokens ?? {}).map(([name, secret]) => `${name} token: ${secret}`);
  const tokenPart = agent.managementToken ? `; management token: ${agent.managementToken}${scoped.map((s) => `; ${s}`).join("")}` : "";
  process.stderr.write(`==> Nomad dev agent listening on ${agent.address}${tokenPart}\n`);
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info("stopping dev agent", { signal });
    agent.close().then(
      () => process.exit(0),
      (err) => {
        log.error("stop failed", { error: err });
        process.exit(1);
      },
    );
  };
  process.on("SIGINT", () => stop("SIGINT"));
  process.on("SIGTERM", () => stop("SIGTERM"));
}

main().catch((err) => {
  if (err instanceof UsageError) {
    process.stderr.write(`devagent: ${err.message} (see --help)\n`);
    process.exit(1);
  }
  log.error("dev agent failed to start", { error: err });
  process.exit(1);
});
