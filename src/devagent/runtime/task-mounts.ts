// Volumes without mount namespaces. A task here shares the host's filesystem and runs in its task directory, so
// a mount is a symlink at <task dir>/<destination> pointing at the source, plus DEVAGENT_VOLUME_<NAME> (the
// symlink's absolute path) for programs that cannot use paths relative to their working directory.
//  REAL   host volumes (group Volumes of type "host" + task VolumeMounts): the node's configured host path, shared
//         with the host and across allocations; data written through the link lands there.
//  REAL   docker/podman Config.volumes binds "src:dst[:ro]" with a relative src (e.g. ../alloc/data/x, how ephemeral
//         volumes are bound): src is created under the task directory and linked at dst.
//  NOT    read_only is not enforced (no bind mount), absolute paths like /data are not remapped, CSI volumes are
//         never placed (the node has none).

import { mkdirSync, rmSync, symlinkSync } from "node:fs";
import { dirname, isAbsolute, resolve, sep } from "node:path";
import type { AllocRunSpec } from "../alloc-runtime.js";

function inside(base: string, path: string): string {
  const target = resolve(base, path.replace(/^\/+/, ""));
  if (target !== base && !target.startsWith(base + sep)) throw new Error(`mount destination ${JSON.stringify(path)} escapes the task directory`);
  return target;
}

function link(source: string, at: string): void {
  mkdirSync(dirname(at), { recursive: true });
  rmSync(at, { recursive: true, force: true });
  symlinkSync(source, at);
}

const envName = (volume: string) => `DEVAGENT_VOLUME_${volume.replace(/[^A-Za-z0-9_]/g, "_").toUpperCase()}`;

/** Creates the task's mounts; returns the environment variables that name them. */
export function prepareMounts(spec: AllocRunSpec, task: Record<string, any>, taskDir: string): Record<string, string> {
  const env: Record<string, string> = {};
  const volumes = (spec.group.Volumes ?? {}) as Record<string, Record<string, any>>;
  for (const mount of (task.VolumeMounts ?? []) as Record<string, any>[]) {
    const volume = volumes[mount.Volume];
    if (!volume || volume.Type !== "host") continue;
    const hostPath = spec.hostVolumes?.[volume.Source];
    if (!hostPath) throw new Error(`host volume ${JSON.stringify(volume.Source)} is not configured on this node`);
    const at = inside(taskDir, String(mount.Destination));
    link(hostPath, at);
    env[envName(String(mount.Volume))] = at;
  }
  if (task.Driver === "docker" || task.Driver === "podman") {
    for (const bind of (task.Config?.volumes ?? []) as unknown[]) {
      const [src, dst] = String(bind).split(":");
      if (!src || !dst || isAbsolute(src)) continue;
      // Relative sources may only reach into the allocation directory, as with Nomad's docker driver.
      const source = resolve(taskDir, src);
      if (!source.startsWith(spec.allocDir + sep)) throw new Error(`volume source ${JSON.stringify(src)} escapes the allocation directory`);
      mkdirSync(source, { recursive: true });
      link(source, inside(taskDir, dst));
    }
  }
  return env;
}
