// Start-up cost of the plugin as a go-plugin host sees it: spawn -> handshake line on stdout, with AutoMTLS (the
// host's usual mode), against `node -e 0` measured in the same run. Target: ratio <= 2.0.
// Also reported, without a target: spawn -> first health check answered over mutual TLS (the plugin loads its gRPC
// stack after the handshake line, so this is the whole wait of a host that pings right away).
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Client, credentials } from "@grpc/grpc-js";

const plugin = fileURLToPath(new URL("../dist/main.js", import.meta.url));
const runs = 7;

export function hostCertificate() {
  const dir = mkdtempSync(join(tmpdir(), "bench-cert-"));
  try {
    execFileSync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-521", "-nodes", "-days", "1",
      "-keyout", join(dir, "k.pem"), "-out", join(dir, "c.pem"), "-subj", "/CN=localhost",
      "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "subjectAltName=DNS:localhost"], { stdio: "ignore" });
    return { cert: readFileSync(join(dir, "c.pem"), "utf8"), key: readFileSync(join(dir, "k.pem"), "utf8") };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// grpc.health.v1.HealthCheckRequest{service: "plugin"} and the SERVING answer, encoded by hand: the bench runs
// plain JavaScript without the generated TypeScript.
const healthRequest = Buffer.from([0x0a, 6, ...Buffer.from("plugin")]);
const serving = (buf) => buf.length === 2 && buf[0] === 0x08 && buf[1] === 1;

function healthCheck(line, host) {
  const [, , , address, , cert] = line.trim().split("|");
  const certPem = `-----BEGIN CERTIFICATE-----\n${Buffer.from(cert, "base64").toString("base64").match(/.{1,64}/g).join("\n")}\n-----END CERTIFICATE-----\n`;
  const creds = credentials.createSsl(Buffer.from(certPem), Buffer.from(host.key), Buffer.from(host.cert));
  const client = new Client(`unix:${address}`, creds, { "grpc.ssl_target_name_override": "localhost", "grpc.default_authority": "localhost" });
  return new Promise((resolve, reject) => {
    client.makeUnaryRequest("/grpc.health.v1.Health/Check", (b) => b, (b) => b, healthRequest, { deadline: Date.now() + 10_000 }, (err, res) => {
      client.close();
      if (err || !serving(res)) reject(err ?? new Error("not SERVING"));
      else resolve();
    });
  });
}

/** ms from spawn until the child exits, prints its handshake line, or (host given) answers a health check. */
function time(args, env, untilLine, host) {
  return timeCommand(process.execPath, args, env, untilLine, host);
}

/** time() for any program: `command` is spawned with `args`. */
export function timeCommand(command, args, env, untilLine, host) {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(command, args, { env, stdio: ["ignore", "pipe", "ignore"] });
    const done = () => resolve(Number(process.hrtime.bigint() - started) / 1e6);
    if (untilLine) {
      child.stdout.setEncoding("utf8").once("data", (line) => {
        const ready = host ? healthCheck(line, host) : Promise.resolve();
        // The time is taken when the plugin is ready; the run ends only once the killed plugin is gone, so its
        // teardown never overlaps the next measurement (which would bias whichever variant comes next).
        ready.then(
          () => {
            const ms = Number(process.hrtime.bigint() - started) / 1e6;
            child.once("exit", () => resolve(ms));
            child.kill("SIGKILL");
          },
          (err) => {
            child.kill("SIGKILL");
            reject(err);
          },
        );
      });
      child.once("exit", (code) => code !== null && code !== 0 && reject(new Error(`plugin exited ${code}`)));
    } else {
      child.once("exit", done);
    }
  });
}

export const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

export async function run() {
  const host = hostCertificate();
  const env = {
    PATH: process.env.PATH,
    CTRLPLANE_PLUGIN: "nomad-provider",
    PLUGIN_PROTOCOL_VERSIONS: "1",
    PLUGIN_CLIENT_CERT: host.cert,
  };
  const baseline = [];
  const handshake = [];
  const firstCall = [];
  // A go-plugin 1.6+ host with GRPCBrokerMultiplex: the yamux code loads after the line, with the gRPC stack.
  const handshakeMux = [];
  const muxEnv = { ...env, PLUGIN_MULTIPLEX_GRPC: "true" };
  // Interleaved so drift in machine load hits all equally; one warm-up each fills the page cache.
  await time(["-e", "0"], env, false);
  await time([plugin], env, true, host);
  for (let i = 0; i < runs; i++) {
    baseline.push(await time(["-e", "0"], env, false));
    handshake.push(await time([plugin], env, true));
    firstCall.push(await time([plugin], env, true, host));
    handshakeMux.push(await time([plugin], muxEnv, true));
  }
  const b = median(baseline);
  const p = median(handshake);
  const f = median(firstCall);
  const ratio = p / b;
  const m = median(handshakeMux);
  console.log(`startup: node -e 0 median ${b.toFixed(1)} ms; plugin spawn->handshake line (AutoMTLS) median ${p.toFixed(1)} ms; ratio ${ratio.toFixed(2)} (target <= 2.0) ${ratio <= 2 ? "OK" : "OVER TARGET"}`);
  console.log(`startup: with PLUGIN_MULTIPLEX_GRPC=true spawn->handshake line median ${m.toFixed(1)} ms; ratio ${(m / b).toFixed(2)} (target <= 2.0) ${m / b <= 2 ? "OK" : "OVER TARGET"}`);
  console.log(`startup: plugin spawn->first health check answered over mTLS median ${f.toFixed(1)} ms; ratio ${(f / b).toFixed(2)} (informational)`);
  return { name: "startup", baselineMs: b, pluginMs: p, firstCallMs: f, multiplexedMs: m, ratio, ok: ratio <= 2 && m / b <= 2 };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const result = await run();
  process.exitCode = result.ok ? 0 : 1;
}
