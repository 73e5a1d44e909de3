// The floor for a Status through any Node gRPC plugin on this stack that reads Nomad per call: a bare grpc-js server
// whose Status handler makes the 3 Nomad reads of the plugin's uncached Status path (job, allocations, latest
// deployment) with undici, parses them, and answers an empty message: no validation, mapping, port cache or error
// handling. Run by bench/status-latency.mjs as
// `node status-floor-server.cjs <nomad address> <job id>`; prints its port.
"use strict";
const { Agent, request } = require("undici");
const { serveBareMethod } = require("./bare-grpc-server.cjs");

const [nomad, jobId] = process.argv.slice(2);
const dispatcher = new Agent({ connections: 64, pipelining: 1, keepAliveTimeout: 30_000 });
const read = async (path) => JSON.parse(await (await request(`${nomad}${path}?region=global&namespace=default`, { dispatcher })).body.text());

serveBareMethod("/ctrlplane.provider.v1.ProviderService/Status", false, (_call, callback) => {
  Promise.all([read(`/v1/job/${jobId}`), read(`/v1/job/${jobId}/allocations`), read(`/v1/job/${jobId}/deployment`)]).then(
    () => callback(null, Buffer.alloc(0)),
    (err) => callback(err),
  );
});
