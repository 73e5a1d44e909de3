// Nomad's log stream wire format (client/lib/streamframer): JSON StreamFrame objects concatenated with no
// delimiter. Field order Offset, Data (base64), File, FileEvent; every field is omitempty, so a heartbeat is `{}`.
// Offset is the file offset just after the frame's data, as Nomad's streamFile reports it.

export interface StreamFrame {
  Offset?: number;
  Data?: Buffer;
  File?: string;
  FileEvent?: string;
}

/** Nomad's frame size limit: a frame never carries more than 64 KiB of Data. */
export const maxFrameData = 64 * 1024;

export const fileDeletedEvent = "file deleted";
export const fileTruncatedEvent = "file truncated";

export function encodeFrame(frame: StreamFrame): string {
  const out: Record<string, unknown> = {};
  if (frame.Offset) out.Offset = frame.Offset;
  if (frame.Data && frame.Data.length > 0) out.Data = frame.Data.toString("base64");
  if (frame.File) out.File = frame.File;
  if (frame.FileEvent) out.FileEvent = frame.FileEvent;
  return JSON.stringify(out);
}

export const heartbeatFrame = encodeFrame({});

/** Splits a concatenated frame stream into frames (for clients and tests); returns the unparsed remainder. */
export function decodeFrames(text: string): { frames: StreamFrame[]; rest: string } {
  const frames: StreamFrame[] = [];
  let depth = 0;
  let start = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === "\\") i++;
      else if (c === '"') inString = false;
      continue;
    }
    if (c === '"') inString = true;
    else if (c === "{") depth++;
    else if (c === "}" && --depth === 0) {
      const raw = JSON.parse(text.slice(start, i + 1)) as Record<string, any>;
      frames.push({ ...raw, Data: raw.Data === undefined ? undefined : Buffer.from(raw.Data, "base64") });
      start = i + 1;
    }
  }
  return { frames, rest: text.slice(start) };
}
