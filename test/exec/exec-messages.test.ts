import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { closeStdinMessage, decodeExecMessage, encodeResize, encodeStdin, errorFromClose } from "../../src/nomad/exec-session.js";
import { Code } from "../../src/errors.js";

const frames = readFileSync(new URL("../fixtures/nomad/WS_v1_client_allocation_ID_exec.frames.txt", import.meta.url), "utf8");

describe("Nomad exec WebSocket messages", () => {
  it("decodes the documented sample stdout frame", () => {
    const line = frames.split("\n").find((l) => l.startsWith('{"stdout":{"data":"G1t'))!;
    expect(decodeExecMessage(line)).toEqual([{ stdout: Buffer.from("\x1b[H\x1b[2J$ ") }]);
  });

  it("reads exit 0 from a result without exit_code, and other codes as sent", () => {
    expect(decodeExecMessage('{"exited":true,"result":{}}')).toEqual([{ exited: 0 }]);
    expect(decodeExecMessage('{"exited":true,"result":{"exit_code":3}}')).toEqual([{ exited: 3 }]);
  });

  it("treats heartbeats and stream-close notices as no events", () => {
    expect(decodeExecMessage("{}")).toEqual([]);
    expect(decodeExecMessage('{"stdout":{"close":true}}')).toEqual([]);
    expect(decodeExecMessage('{"stderr":{"data":"ZXJyCg=="}}')).toEqual([{ stderr: Buffer.from("err\n") }]);
  });

  it("encodes client frames in Nomad's shapes", () => {
    expect(JSON.parse(encodeStdin(new Uint8Array([0x0c])))).toEqual({ stdin: { data: "DA==" } });
    expect(JSON.parse(closeStdinMessage)).toEqual({ stdin: { close: true } });
    expect(JSON.parse(encodeResize(80, 24))).toEqual({ tty_size: { height: 24, width: 80 } });
  });

  it("maps close reasons to error codes", () => {
    expect(errorFromClose(1008, "Permission denied").code).toBe(Code.PermissionDenied);
    expect(errorFromClose(1008, 'task "web" is not running.').code).toBe(Code.FailedPrecondition);
    expect(errorFromClose(1006, "").code).toBe(Code.Unavailable);
    expect(errorFromClose(1011, "failed to exec").code).toBe(Code.Unavailable);
  });
});
