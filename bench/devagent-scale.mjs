// The dev agent at the scale issue #13 asks of it: 2,000 jobs of the shape the plugin builds (docker task, bridge
// port, a prestart hook), run with --driver-override mock_driver so no process is started. Measured in one run:
// the register latency of the last 100 jobs against the first 100 (a quadratic agent shows a ratio that grows with
// N; target <= 2.0), the time of a full /v1/jobs list and of a job's allocations read at N against at the start,
// and the agent's RSS. N defaults to 2,000 (BENCH_SCALE_N to change it).
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

const devagent = fileURLToPath(new URL("../dist/devagent.js", import.meta.url));
const n = Number(process.env.BENCH_SCALE_N ?? 2000);

function startAgent() {
  const child = spawn(process.execPath, [devagent, "--port", "0", "--driver-override", "mock_driver", "--cpu-mhz", "100000000", "--memory-mb", "100000000"], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  return new Promise((resolve, reject) => {
    let err = "";
    child.stderr.setEncoding("utf8").on("data", (d) => {
      err += d;
      const m = err.match(/listening on (http:\/\/[^\s;]+)/);
      if (m) resolve({ child, address: m[1] });
    });
    child.once("exit", (code) => reject(new Error(`dev agent exited ${code}: ${err}`)));
  });
}

const job = (i) => ({
  Job: {
    ID: `cp-scale-${i}`,
    Meta: { "ctrlplane.instance": `scale-${i}` },
    TaskGroups: [{
      Name: "workload",
      Count: 1,
      Networks: [{ Mode: "bridge", DynamicPorts: [{ Label: "http", To: 80 }] }],
      Tasks: [
        { Name: "web", Driver: "docker", Config: { image: "nginx:1.25", ports: ["http"] }, Resources: { CPU: 100, MemoryMB: 64 } },
        { Name: "init", Driver: "docker", Config: { image: "busybox" }, Lifecycle: { Hook: "prestart", Sidecar: false }, Resources: { CPU: 50, MemoryMB: 32 } },
      ],
    }],
  },
});

async function timed(fn) {
  const t = performance.now();
  await fn();
  return performance.now() - t;
}

async function request(address, method, path, body) {
  const res = await fetch(address + path, { method, ...(body ? { body: JSON.stringify(body) } : {}) });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return text;
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

export async function run() {
  const { child, address } = await startAgent();
  try {
    const registerMs = [];
    let listFirst, allocsFirst;
    for (let i = 0; i < n; i++) {
      registerMs.push(await timed(() => request(address, "PUT", "/v1/jobs", job(i))));
      if (i === 99) {
        listFirst = median(await Promise.all([0, 1, 2].map(() => timed(() => request(address, "GET", "/v1/jobs")))));
        allocsFirst = await timed(() => request(address, "GET", "/v1/job/cp-scale-50/allocations"));
      }
    }
    const listLast = median(await Promise.all([0, 1, 2].map(() => timed(() => request(address, "GET", "/v1/jobs")))));
    const allocsLast = await timed(() => request(address, "GET", "/v1/job/cp-scale-50/allocations"));
    const first = median(registerMs.slice(0, 100));
    const last = median(registerMs.slice(-100));
    const ratio = last / first;
    const stats = JSON.parse(await request(address, "GET", "/v1/devagent/stats"));
    const rss = Number((await import("node:fs")).readFileSync(`/proc/${child.pid}/status`, "utf8").match(/VmRSS:\s+(\d+)/)[1]) / 1024;
    console.log(`devagent-scale: ${n} jobs (mock_driver): register median first 100 ${first.toFixed(2)} ms, last 100 ${last.toFixed(2)} ms; ratio ${ratio.toFixed(2)} (target <= 2.0) ${ratio <= 2 ? "OK" : "OVER TARGET"}`);
    console.log(`devagent-scale: GET /v1/jobs at 100 jobs ${listFirst.toFixed(1)} ms, at ${n} ${listLast.toFixed(1)} ms (x${(listLast / listFirst).toFixed(1)} for x${(n / 100).toFixed(0)} jobs); a job's allocations at 100 ${allocsFirst.toFixed(2)} ms, at ${n} ${allocsLast.toFixed(2)} ms; agent RSS ${rss.toFixed(0)} MiB${stats.requests ? "" : ""}`);
    return { name: "devagent-scale", ratio, ok: ratio <= 2 };
  } finally {
    child.kill("SIGTERM");
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const result = await run();
  process.exitCode = result.ok ? 0 : 1;
}
