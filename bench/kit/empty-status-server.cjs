// The floor for a Status through any Node gRPC plugin on this stack, however it keeps its answers: a bare grpc-js
// server whose Status answers an empty message at once, with no Nomad read and no logic. Run by bench/go-status.mjs as
// `node empty-status-server.cjs`; prints its port.
"use strict";
const { serveBareMethod } = require("./bare-grpc-server.cjs");

serveBareMethod("/ctrlplane.provider.v1.ProviderService/Status", false, (_call, callback) => callback(null, Buffer.alloc(0)));
