// The one place where a thrown error becomes a gRPC status. ProviderError keeps its code and message (its messages are
// written for clients and scrubbed of secrets); anything else is a bug or a foreign failure, so the client sees a
// generic INTERNAL and the details go to the log only.

import { status as GrpcStatus } from "@grpc/grpc-js";
import { Code, ProviderError } from "../errors.js";

export interface GrpcStatusError {
  code: GrpcStatus;
  details: string;
}

const codeToStatus: Record<Code, GrpcStatus> = {
  [Code.Canceled]: GrpcStatus.CANCELLED,
  [Code.Unknown]: GrpcStatus.UNKNOWN,
  [Code.InvalidArgument]: GrpcStatus.INVALID_ARGUMENT,
  [Code.DeadlineExceeded]: GrpcStatus.DEADLINE_EXCEEDED,
  [Code.NotFound]: GrpcStatus.NOT_FOUND,
  [Code.AlreadyExists]: GrpcStatus.ALREADY_EXISTS,
  [Code.PermissionDenied]: GrpcStatus.PERMISSION_DENIED,
  [Code.ResourceExhausted]: GrpcStatus.RESOURCE_EXHAUSTED,
  [Code.FailedPrecondition]: GrpcStatus.FAILED_PRECONDITION,
  [Code.Aborted]: GrpcStatus.ABORTED,
  [Code.OutOfRange]: GrpcStatus.OUT_OF_RANGE,
  [Code.Unimplemented]: GrpcStatus.UNIMPLEMENTED,
  [Code.Internal]: GrpcStatus.INTERNAL,
  [Code.Unavailable]: GrpcStatus.UNAVAILABLE,
  [Code.DataLoss]: GrpcStatus.DATA_LOSS,
  [Code.Unauthenticated]: GrpcStatus.UNAUTHENTICATED,
};

/** True when the client should see the error's own message (it was written for them). */
export function isClientFacing(err: unknown): err is ProviderError {
  return err instanceof ProviderError;
}

/** Maps anything thrown by a handler to the status sent to the client. */
export function toGrpcStatus(err: unknown): GrpcStatusError {
  if (err instanceof ProviderError) {
    return { code: codeToStatus[err.code] ?? GrpcStatus.UNKNOWN, details: err.message };
  }
  // Aborts that escaped as DOMExceptions: the call's own signal fired, so the cause is cancel or deadline.
  if (err instanceof Error && (err.name === "AbortError" || err.name === "TimeoutError")) {
    return toGrpcStatus(ProviderError.from(err));
  }
  return { code: GrpcStatus.INTERNAL, details: "internal error in nomad-provider (see the plugin log)" };
}
