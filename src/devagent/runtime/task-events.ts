// TaskEvent construction with Nomad's Type strings and the DisplayMessage Nomad's client would compute for them
// (nomad/structs TaskEvent.PopulateEventDisplayMessage). Events carry every field a real agent serves, so the
// JSON has the same keys as a real allocation's TaskStates.

import type { TaskEvent } from "../alloc-runtime.js";
import { goDuration, unixNanos } from "./go-duration.js";

export type FullTaskEvent = TaskEvent & {
  SetupError: string;
  KillReason: string;
  DownloadError: string;
  ValidationError: string;
  DiskLimit: number;
  FailedSibling: string;
  VaultError: string;
  TaskSignalReason: string;
  TaskSignal: string;
  DriverMessage: string;
  GenericSource: string;
};

export type EventFields = Partial<Omit<FullTaskEvent, "Type" | "Time">>;

export const ReasonWithinPolicy = "Restart within policy";

function blank(type: string): FullTaskEvent {
  return {
    Type: type,
    Time: unixNanos(),
    Message: "",
    DisplayMessage: "",
    Details: {},
    FailsTask: false,
    RestartReason: "",
    SetupError: "",
    DriverError: "",
    ExitCode: 0,
    Signal: 0,
    KillTimeout: 0,
    KillError: "",
    KillReason: "",
    StartDelay: 0,
    DownloadError: "",
    ValidationError: "",
    DiskLimit: 0,
    FailedSibling: "",
    VaultError: "",
    TaskSignalReason: "",
    TaskSignal: "",
    DriverMessage: "",
    GenericSource: "",
  };
}

function displayMessage(e: FullTaskEvent): string {
  switch (e.Type) {
    case "Task Setup":
      return e.Message;
    case "Started":
      return "Task started by client";
    case "Received":
      return "Task received by client";
    case "Setup Failure":
      return e.SetupError || "Task setup failed";
    case "Driver Failure":
      return e.DriverError || "Failed to start task";
    case "Killing":
      if (e.KillReason) return e.KillReason;
      return e.KillTimeout ? `Sent interrupt. Waiting ${goDuration(e.KillTimeout)} before force killing` : "Sent interrupt";
    case "Killed":
      return e.KillError || "Task successfully killed";
    case "Terminated":
      return terminatedMessage(e);
    case "Restarting": {
      const inDelay = `Task restarting in ${goDuration(e.StartDelay)}`;
      return e.RestartReason && e.RestartReason !== ReasonWithinPolicy ? `${e.RestartReason} - ${inDelay}` : inDelay;
    }
    case "Not Restarting":
      return e.RestartReason || "Task exceeded restart policy";
    case "Sibling Task Failed":
      return e.FailedSibling ? `Task's sibling ${JSON.stringify(e.FailedSibling)} failed` : "Task's sibling failed";
    case "Signaling":
      return signalingMessage(e);
    case "Restart Signaled":
      return e.RestartReason || "Task signaled to restart";
    case "Driver":
      return e.DriverMessage;
    case "Leader Task Dead":
      return "Leader Task in Group dead";
    case "Main Tasks Dead":
      return "Main tasks in the group died";
    default:
      return e.Message;
  }
}

function terminatedMessage(e: FullTaskEvent): string {
  const parts = [`Exit Code: ${e.ExitCode}`];
  if (e.Signal !== 0) parts.push(`Signal: ${e.Signal}`);
  if (e.Message) parts.push(`Exit Message: ${JSON.stringify(e.Message)}`);
  return parts.join(", ");
}

function signalingMessage(e: FullTaskEvent): string {
  const sig = e.TaskSignal;
  const reason = e.TaskSignalReason;
  if (!sig && !reason) return "Task being sent a signal";
  if (!sig) return reason;
  if (!reason) return `Task being sent signal ${sig}`;
  return `Task being sent signal ${sig}: ${reason}`;
}

export function taskEvent(type: string, fields: EventFields = {}): FullTaskEvent {
  const event = { ...blank(type), ...fields };
  if (!event.DisplayMessage) event.DisplayMessage = displayMessage(event);
  return event;
}
