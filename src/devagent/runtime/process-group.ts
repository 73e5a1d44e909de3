// Finds the members of a process group from /proc, so "stopped" can mean "no process of the task is left".

import { readdirSync, readFileSync } from "node:fs";

export interface ProcStat {
  pid: number;
  ppid: number;
  pgrp: number;
  state: string;
  utimeTicks: number;
  stimeTicks: number;
  rssPages: number;
}

/** Parses /proc/<pid>/stat; undefined when the process is gone. */
export function readProcStat(pid: number): ProcStat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return undefined;
  }
  // The command name (field 2) may contain spaces and parentheses; everything after the last ")" is fixed.
  const f = text.slice(text.lastIndexOf(")") + 2).split(" ");
  return {
    pid,
    state: f[0] ?? "",
    ppid: Number(f[1]),
    pgrp: Number(f[2]),
    utimeTicks: Number(f[11]),
    stimeTicks: Number(f[12]),
    rssPages: Number(f[21]),
  };
}

export function allProcStats(): ProcStat[] {
  const out: ProcStat[] = [];
  for (const entry of readdirSync("/proc")) {
    if (entry.charCodeAt(0) < 48 || entry.charCodeAt(0) > 57) continue;
    const stat = readProcStat(Number(entry));
    if (stat) out.push(stat);
  }
  return out;
}

/** Live (non-zombie) members of process group `pgid`. */
export function groupMembers(pgid: number): number[] {
  return allProcStats()
    .filter((s) => s.pgrp === pgid && s.state !== "Z" && s.state !== "X")
    .map((s) => s.pid);
}

function groupExists(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Resolves once no live process is left in the group (SIGKILL is asynchronous), or after `timeoutMs`. */
export async function waitGroupGone(pgid: number, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (groupExists(pgid) && groupMembers(pgid).length > 0 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 5));
  }
}
