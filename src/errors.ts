// The one error type of the plugin. Every layer throws ProviderError (or lets a foreign error be wrapped by
// ProviderError.from); src/grpc maps Code to a gRPC status exactly once. Codes are numerically the gRPC codes,
// so the mapping is the identity, but nothing outside src/grpc depends on that.

export enum Code {
  Canceled = 1,
  Unknown = 2,
  InvalidArgument = 3,
  DeadlineExceeded = 4,
  NotFound = 5,
  AlreadyExists = 6,
  PermissionDenied = 7,
  ResourceExhausted = 8,
  FailedPrecondition = 9,
  Aborted = 10,
  OutOfRange = 11,
  Unimplemented = 12,
  Internal = 13,
  Unavailable = 14,
  DataLoss = 15,
  Unauthenticated = 16,
}

export interface ProviderErrorOptions {
  cause?: unknown;
  /** Field path for InvalidArgument, e.g. "services[1].ports[0].container". Prefixed to the message. */
  field?: string;
  /** HTTP status of the upstream (Nomad) answer, when there was one. */
  httpStatus?: number;
  /** The upstream object the failure is about (e.g. the Nomad job of a 404), so a caller can restate it in its terms. */
  subject?: ErrorSubject;
}

export interface ErrorSubject {
  /** e.g. "job" */
  kind: string;
  id: string;
  namespace?: string;
}

export class ProviderError extends Error {
  override readonly name = "ProviderError";
  readonly code: Code;
  readonly field: string | undefined;
  readonly httpStatus: number | undefined;
  readonly subject: ErrorSubject | undefined;
  /** The message without the field prefix. */
  readonly rawMessage: string;

  constructor(code: Code, message: string, options: ProviderErrorOptions = {}) {
    super(options.field ? `${options.field}: ${message}` : message, { cause: options.cause });
    this.code = code;
    this.field = options.field;
    this.httpStatus = options.httpStatus;
    this.subject = options.subject;
    this.rawMessage = message;
  }

  /** Wraps anything thrown into a ProviderError; an abort becomes Canceled, other unknowns Internal. */
  static from(err: unknown, fallback: Code = Code.Internal): ProviderError {
    if (err instanceof ProviderError) return err;
    if (err instanceof Error && (err.name === "AbortError" || err.name === "TimeoutError")) {
      return new ProviderError(err.name === "TimeoutError" ? Code.DeadlineExceeded : Code.Canceled, err.message, {
        cause: err,
      });
    }
    const message = err instanceof Error ? err.message : String(err);
    return new ProviderError(fallback, message, { cause: err });
  }
}

/** Shorthand for validation failures: INVALID_ARGUMENT with the field path first in the message. */
export function invalidArgument(field: string, message: string): ProviderError {
  return new ProviderError(Code.InvalidArgument, message, { field });
}
