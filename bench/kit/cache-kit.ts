// What bench/cache-freshness.mjs and bench/cache-prime-filter.mjs need from TypeScript sources, bundled at run time by
// bench/kit/load-kit.mjs: the instance cache and its transport, run inside the bench process so the bench can subscribe
// to it (onChange), weigh its heap and watch its traffic. The dev agent and the plugin (used only to provision) come
// from reliability-kit.ts as processes.
export { InstanceCache } from "../../src/provider/instance-cache.js";
export { NomadHttp } from "../../src/nomad/nomad-http.js";
export { createLogger } from "../../src/log.js";
export { recordingProxy } from "../../test/helpers/recording-proxy.js";
