// Checks up front that a task's program exists, so a typo becomes Nomad's "Driver Failure" event (an
// unrecoverable start error) instead of a shell's exit code 127.

import { accessSync, constants, statSync } from "node:fs";
import { delimiter, isAbsolute, join, resolve } from "node:path";
import { DriverError } from "./task-command.js";

function isExecutableFile(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

export function assertExecutable(command: string, cwd: string, pathVar: string | undefined): void {
  if (command.includes("/")) {
    const path = isAbsolute(command) ? command : resolve(cwd, command);
    if (isExecutableFile(path)) return;
    throw new DriverError(`failed to launch command with executor: rpc error: code = Unknown desc = fork/exec ${path}: no such file or directory`);
  }
  for (const dir of (pathVar ?? "").split(delimiter)) {
    if (dir && isExecutableFile(join(dir, command))) return;
  }
  throw new DriverError(
    `failed to launch command with executor: rpc error: code = Unknown desc = exec: ${JSON.stringify(command)}: executable file not found in $PATH`,
  );
}
