// CLI: node dist/devagent.js --port 4646 [--host 127.0.0.1] [--acl] [--tls-cert F --tls-key F [--tls-ca F]]
//      [--data-dir D] [--region R] [--datacenter DC] [--host-volume NAME=PATH ...] [--cpu-mhz N] [--memory-mb N]
// Prints the address (and with --acl the management token, which the operator needs) on stderr: one hclog JSON
// line for machines and one human line. Stops every task on SIGINT/SIGTERM.
import { parseArgs } from "node:util";
import { createLogger } from "../log.js";
import { startDevAgent } from "./dev-agent.js";

const log = createLogger({ module: "devagent" });

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
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
    },
    strict: true,
  });
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--port: not a port number: ${values.port}`);
  if (!!values["tls-cert"] !== !!values["tls-key"]) throw new Error("--tls-cert and --tls-key go together");
  const hostVolumes: Record<string, string> = {};
  for (const spec of values["host-volume"] ?? []) {
    const [name, path] = [spec.slice(0, spec.indexOf("=")), spec.slice(spec.indexOf("=") + 1)];
    if (!name || spec.indexOf("=") < 0 || !path.startsWith("/")) throw new Error(`--host-volume: expected NAME=/absolute/path, got ${spec}`);
    hostVolumes[name] = path;
  }
  const positive = (flag: string, v: string | undefined) => {
    if (v === undefined) return undefined;
    if (!/^[1-9]\d*$/.test(v)) throw new Error(`--${flag}: not a positive integer: ${v}`);
    return Number(v);
  };
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
    nodeResources: { ...(cpuMhz ? { cpuMhz } : {}), ...(memoryMb ? { memoryMb } : {}) },
    ...(values["tls-cert"] ? { tls: { cert: values["tls-cert"], key: values["tls-key"]!, ...(values["tls-ca"] ? { ca: values["tls-ca"] } : {}) } } : {}),
  });
  log.info("dev agent started", { address: agent.address, acl: values.acl });
  const tokenPart = agent.managementToken ? `; management token: ${agent.managementToken}` : "";
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
  log.error("dev agent failed to start", { error: err });
  process.exit(1);
});
