// The floor for Logs through any Node gRPC plugin on this stack: a bare relay that reads Nomad's plain log body with
// undici and writes each chunk as one gRPC message (grpc-js, with backpressure): no framing, lines, cursors,
// batching or protobuf. Run by bench/logs-throughput.mjs as `node log-relay-server.cjs <nomad address>`; prints its
// port. The request message is the path (and query) to read, as UTF-8.
"use strict";
const { Agent, request } = require("undici");
const { serveBareMethod } = require("./bare-grpc-server.cjs");

const [nomad] = process.argv.slice(2);
const dispatcher = new Agent({ connections: 64, pipelining: 1, keepAliveTimeout: 30_000 });

serveBareMethod("/bench.LogRelay/Read", true, async (call) => {
  try {
    const res = await request(`${nomad}${call.request.toString("utf8")}`, { dispatcher });
    for await (const chunk of res.body) {
      if (!call.write(chunk)) await new Promise((resolve) => call.once("drain", resolve));
    }
    call.end();
  } catch (err) {
    call.destroy(err);
  }
});
