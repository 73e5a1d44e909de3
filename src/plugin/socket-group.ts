// PLUGIN_UNIX_SOCKET_GROUP (go-plugin 1.5.1+): a host that runs as another user than its plugins names a group (by
// name or numeric gid); the plugin hands its socket to that group, read-write for the group (0660), before the
// handshake line, and refuses to start when it cannot — exactly as go-plugin's own plugins do.

import { chmodSync, chownSync, readFileSync } from "node:fs";
import { HandshakeError } from "./handshake.js";

/** Resolves a group name through the system group database (/etc/group), or takes a numeric gid as it is. */
export function resolveGroupId(group: string, groupFile = "/etc/group"): number {
  if (/^\d+$/.test(group)) return Number(group);
  let entries: string;
  try {
    entries = readFileSync(groupFile, "utf8");
  } catch (err) {
    throw new HandshakeError(`PLUGIN_UNIX_SOCKET_GROUP ${JSON.stringify(group)}: cannot read ${groupFile}: ${(err as Error).message}`);
  }
  for (const line of entries.split("\n")) {
    const [name, , gid] = line.split(":");
    if (name === group && gid !== undefined && /^\d+$/.test(gid)) return Number(gid);
  }
  throw new HandshakeError(`PLUGIN_UNIX_SOCKET_GROUP: group ${JSON.stringify(group)} does not exist (not a gid, not in ${groupFile})`);
}

/** Gives the socket to the group with mode 0660; throws HandshakeError (exit 1, nothing on stdout) when it cannot. */
export function shareSocketWithGroup(socketPath: string, group: string): void {
  const gid = resolveGroupId(group);
  try {
    chownSync(socketPath, -1, gid);
    chmodSync(socketPath, 0o660);
  } catch (err) {
    throw new HandshakeError(
      `PLUGIN_UNIX_SOCKET_GROUP ${JSON.stringify(group)}: cannot give the socket ${socketPath} to gid ${gid} with mode 0660: ${(err as Error).message}`,
    );
  }
}
