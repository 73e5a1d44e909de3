// The single place where Nomad's HTTP answers and Node's socket errors become ProviderErrors.
// Nomad error bodies are plain text (e.g. "job not found", "Permission denied"), not JSON.

import { Code, ProviderError, type ErrorSubject } from "../errors.js";

/** Translates a non-2xx Nomad answer. `what` names the call for the message, e.g. "read job cp-x". */
export function errorFromStatus(status: number, body: string, what: string, subject?: ErrorSubject): ProviderError {
  const text = body.trim().slice(0, 2048) || `HTTP ${status}`;
  const message = `nomad: ${what}: ${text}`;
  let code: Code;
  if (status === 400 || status === 422) code = /already exists|exists/i.test(text) ? Code.AlreadyExists : Code.InvalidArgument;
  else if (status === 401) code = Code.Unauthenticated;
  else if (status === 403) code = Code.PermissionDenied;
  else if (status === 404) code = noPathToNode(text) ? Code.Unavailable : Code.NotFound;
  else if (status === 409) code = Code.AlreadyExists;
  else if (status === 429) code = Code.ResourceExhausted;
  else if (status === 408 || status === 504) code = Code.DeadlineExceeded;
  else if (status >= 500) code = isPermissionRefusal(text) ? Code.PermissionDenied : isValidationFailure(text) ? Code.InvalidArgument : Code.Unavailable;
  else code = Code.Unknown;
  return new ProviderError(code, message, { httpStatus: status, subject });
}

/** Nomad's 404 when no server holds a connection to the allocation's node: the node is unreachable, not the thing. */
function noPathToNode(text: string): boolean {
  return /No path to node$/.test(text);
}

/** Whether an error is Nomad's "No path to node" (a client endpoint of an allocation on an unreachable node). */
export function isNoPathToNode(err: unknown): boolean {
  return err instanceof ProviderError && err.httpStatus === 404 && noPathToNode(err.message);
}

/**
 * Nomad's ACL refusals that arrive as 500: the log and file streams send ErrPermissionDenied without a code (Nomad
 * 1.6-1.9), and the event stream's subscription check answers 500 until 1.9.6. Nomad itself recognises these errors by
 * their text's end (structs.IsErrPermissionDenied, the HTTP wrapper's HasSuffix), so an "rpc error: " prefix is fine.
 */
function isPermissionRefusal(text: string): boolean {
  return /(^|: )(Permission denied|ACL token not found)$/.test(text);
}

/**
 * Nomad answers a job its validators refuse with 500 and the go-multierror text of the errors ("1 error occurred:\n\t*
 * ..." in go-multierror 1.1, "1 error(s) occurred:\n\n* ..." in 1.0): a fault of the request, not of the cluster.
 */
function isValidationFailure(text: string): boolean {
  return /^\d+ errors? occurred:\s|^\d+ error\(s\) occurred:\s/.test(text);
}

const unavailableCodes = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "EPIPE",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "UND_ERR_SOCKET",
  "UND_ERR_CLOSED",
  "UND_ERR_DESTROYED",
  "UND_ERR_CONNECT_TIMEOUT",
  "UND_ERR_INFO",
  "UND_ERR_RES_CONTENT_LENGTH_MISMATCH",
]);

const timeoutCodes = new Set(["ETIMEDOUT", "UND_ERR_HEADERS_TIMEOUT", "UND_ERR_BODY_TIMEOUT"]);

/** Translates a failure to talk to Nomad at all (socket errors, aborts, timeouts). */
export function errorFromNetwork(err: unknown, what: string, signal?: AbortSignal): ProviderError {
  if (err instanceof ProviderError) return err;
  if (signal?.aborted) {
    const reason = signal.reason as { name?: string } | undefined;
    const timedOut = reason?.name === "TimeoutError" || (reason instanceof ProviderError && reason.code === Code.DeadlineExceeded);
    return new ProviderError(
      timedOut ? Code.DeadlineExceeded : Code.Canceled,
      `nomad: ${what}: ${timedOut ? "deadline exceeded" : "canceled"}`,
      { cause: err },
    );
  }
  const e = err as { code?: string; name?: string; message?: string; cause?: { code?: string } };
  const code = e?.code ?? e?.cause?.code ?? "";
  if (timeoutCodes.has(code) || e?.name === "TimeoutError") {
    return new ProviderError(Code.DeadlineExceeded, `nomad: ${what}: timed out (${code || "timeout"})`, { cause: err });
  }
  if (unavailableCodes.has(code) || code.startsWith("UND_ERR") || code.startsWith("E")) {
    return new ProviderError(Code.Unavailable, `nomad: ${what}: ${onceWithCode(e?.message, code)}`, { cause: err });
  }
  if (e?.name === "AbortError") return new ProviderError(Code.Canceled, `nomad: ${what}: canceled`, { cause: err });
  return new ProviderError(Code.Unavailable, `nomad: ${what}: ${e?.message ?? String(err)}`, { cause: err });
}

/** The failure's own text with its code, once: "connect ECONNREFUSED 127.0.0.1:4646", "other side closed (UND_ERR_SOCKET)". */
function onceWithCode(message: string | undefined, code: string): string {
  const text = message?.trim() ?? "";
  if (!text) return code;
  if (!code || text.includes(code)) return text;
  return `${text} (${code})`;
}

/** What a Nomad path is about, for errors: /v1/job/:id and its sub-resources are about that job. */
export function subjectOfPath(path: string, namespace: string | undefined): ErrorSubject | undefined {
  const m = /^\/v1\/job\/([^/?]+)/.exec(path);
  if (!m) return undefined;
  let id: string;
  try {
    id = decodeURIComponent(m[1]!);
  } catch {
    return undefined;
  }
  return { kind: "job", id, ...(namespace ? { namespace } : {}) };
}
