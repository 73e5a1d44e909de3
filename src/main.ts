// The nomad-provider binary. Launched by a ctrlplane host (go-plugin) it handshakes and serves over a unix socket;
// with --listen it serves directly. stdout carries the handshake line and nothing else, in every mode.

import packageJson from "../package.json" with { type: "json" };
import { ConfigError, loadConfig, usage, type Config } from "./config.js";
import { createLogger } from "./log.js";
import { NomadHttp } from "./nomad/nomad-http.js";
import { HandshakeError } from "./plugin/handshake.js";
import { runPluginMode } from "./plugin/plugin-mode.js";
import { runStandaloneMode } from "./plugin/standalone-mode.js";
import { startEmbeddedDevAgent, type EmbeddedDevAgent } from "./plugin/embedded-dev-agent.js";
import { families } from "./provider/families.js";

// Whatever a dependency prints with console.log must not corrupt the handshake channel.
console.log = console.error;
console.info = console.error;

async function main(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<void> {
  let config: Config;
  try {
    config = loadConfig({ argv, env });
  } catch (err) {
    if (err instanceof ConfigError) fail(err.message);
    throw err;
  }
  if (config.help) {
    process.stderr.write(usage);
    process.exit(0);
  }
  const log = createLogger({ level: config.logLevel });

  let devAgent: EmbeddedDevAgent | undefined;
  if (config.standalone?.devAgent) {
    devAgent = await startEmbeddedDevAgent();
    log.info("embedded dev agent started", { address: devAgent.address });
  }
  const nomad = new NomadHttp({ ...config.nomad, address: devAgent?.address ?? config.nomad.address });
  const deps = {
    nomad,
    log,
    settings: { datacenters: config.datacenters, cpuMhzPerCore: config.cpuMhzPerCore, version: packageJson.version },
  };
  const cleanup = async () => {
    await nomad.close();
    await devAgent?.close();
  };

  if (config.standalone) {
    await runStandaloneMode({ deps, families, log, listen: config.standalone, cleanup });
    return;
  }
  try {
    await runPluginMode({
      deps,
      families,
      log,
      env,
      magicCookieKey: config.magicCookieKey,
      magicCookieValue: config.magicCookieValue,
      cleanup,
    });
  } catch (err) {
    if (err instanceof HandshakeError) fail(err.message);
    throw err;
  }
}

/** A start-up failure: a human-readable message on stderr and exit 1, as go-plugin plugins do. */
function fail(message: string): never {
  process.stderr.write(`nomad-provider: ${message}\n`);
  process.exit(1);
}

main(process.argv.slice(2), process.env).catch((err: unknown) => {
  // Never the error object itself: its properties could hold configuration.
  fail(`start-up failed: ${err instanceof Error ? err.message : String(err)}`);
});
