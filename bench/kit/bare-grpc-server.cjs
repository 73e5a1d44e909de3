// What the bench floors share: a grpc-js server (channelz off, like the plugin's) with one method on raw bytes, bound
// to an ephemeral loopback port that it prints on stdout for the benchmark that spawned it.
"use strict";
const grpc = require("@grpc/grpc-js");

/** Serves `handler` (a grpc-js handler over Buffers) at `path`; a server stream when `responseStream`. */
function serveBareMethod(path, responseStream, handler) {
  const bytes = (b) => b;
  const server = new grpc.Server({ "grpc.enable_channelz": 0 });
  const definition = { path, requestStream: false, responseStream, requestSerialize: bytes, requestDeserialize: bytes, responseSerialize: bytes, responseDeserialize: bytes };
  server.addService({ method: definition }, { method: handler });
  server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, port) => {
    if (err) throw err;
    console.log(port);
  });
}

module.exports = { serveBareMethod };
