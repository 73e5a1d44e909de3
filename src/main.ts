#!/usr/bin/env node
// The nomad-provider binary. Launched by a ctrlplane host (go-plugin) it handshakes and serves over a unix socket;
// with --listen it serves directly. stdout carries the handshake line and nothing else, in every mode.
// Static imports stay limited to node built-ins and small modules: the gRPC stack and the provider are loaded
// with import() once the handshake line is out (bench/startup.mjs measures why).

import packageJson from "../package.json" with { type: "json" };
import { cliRequest, ConfigError, loadConfig, usage, type Config } from "./config.js";
import { Code, ProviderError } from "./errors.js";
import { fixHeapGrowingFactor } from "./heap-growth.js";
import { createLogger, hclogTimestamp } from "./log.js";
import { HandshakeError } from "./plugin/handshake.js";
import { runPluginMode } from "./plugin/plugin-mode.js";
import { loadProvider } from "./plugin/provider-loader.js";

fixHeapGrowingFactor();

// Whatever a dependency prints with console.log must not corrupt the handshake channel.
console.log = console.error;
console.info = console.error;

async function main(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<void> {
  let config: Config;
  try {
    // Asked for, --help and --version are the answer (on stdout, exit 0); nothing starts.
    const request = cliRequest(argv);
    if (request) {
      process.stdout.write(request === "help" ? usage : `nomad-provider ${packageJson.version}\n`);
      process.exit(0);
    }
    config = loadConfig({ argv, env });
  } catch (err) {
    if (err instanceof ConfigError) fail(err.message, pluginLaunch(env));
    throw err;
  }
  // A host parses JSON lines; a person at a terminal reads text ones.
  const format = config.logFormat ?? (config.standalone && process.stderr.isTTY ? "text" : "json");
  const log = createLogger({ level: config.logLevel, format });
  // Node's own warnings (MaxListenersExceeded, deprecations) would be plain text on stderr, where a host parses JSON.
  process.removeAllListeners("warning");
  process.on("warning", (w) => log.warn(`node: ${w.message}`, { warning: w.name }));
  jsonFailures = format === "json" && !config.standalone;
  for (const warning of config.warnings) log.warn(warning);
  const version = packageJson.version;

  if (config.standalone) {
    // The port is bound first (a taken port fails before the dev agent starts), then the provider is loaded.
    const { runStandaloneMode } = await import("./plugin/standalone-mode.js");
    try {
      await runStandaloneMode({ log, listen: config.standalone, loadProvider: () => loadProvider(config, version, log) });
    } catch (err) {
      if (err instanceof ConfigError) fail(err.message);
      throw err;
    }
    return;
  }

  let close: (() => Promise<void>) | undefined;
  try {
    await runPluginMode({
      env,
      log,
      magicCookieKey: config.magicCookieKey,
      magicCookieValue: config.magicCookieValue,
      loadProvider: async () => {
        try {
          const loaded = await loadProvider(config, version, log);
          close = () => loaded.close();
          return loaded.impl;
        } catch (err) {
          throw new ProviderError(Code.Unavailable, `nomad-provider failed to initialise: ${(err as Error).message}`, { cause: err });
        }
      },
      cleanup: async () => close?.(),
    });
  } catch (err) {
    if (err instanceof HandshakeError) fail(err.message, jsonFailures && pluginLaunch(env));
    throw err;
  }
}

/** Set once the log format is known: in plugin mode even a start-up failure is an hclog JSON line. */
let jsonFailures = false;

/** Whether a go-plugin host (not a person) started us: it sets the go-plugin variables. */
function pluginLaunch(env: NodeJS.ProcessEnv): boolean {
  return ["PLUGIN_PROTOCOL_VERSIONS", "PLUGIN_MIN_PORT", "PLUGIN_CLIENT_CERT", "PLUGIN_UNIX_SOCKET_DIR"].some((v) => env[v] !== undefined);
}

/** A start-up failure: one message on stderr and exit 1, as go-plugin plugins do; a JSON record for a host. */
function fail(message: string, json = jsonFailures): never {
  process.stderr.write(json ? JSON.stringify({ "@level": "error", "@message": message, "@module": "nomad-provider", "@timestamp": hclogTimestamp(new Date()) }) + "\n" : `nomad-provider: ${message}\n`);
  process.exit(1);
}

main(process.argv.slice(2), process.env).catch((err: unknown) => {
  // Never the error object itself: its properties could hold configuration.
  fail(`start-up failed: ${err instanceof Error ? err.message : String(err)}`);
});
