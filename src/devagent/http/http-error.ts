// An error answered as Nomad answers errors: a status code and a plain-text body with no trailing newline.
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export const notFound = (message: string) => new HttpError(404, message);
export const badRequest = (message: string) => new HttpError(400, message);
export const serverError = (message: string) => new HttpError(500, message);
export const methodNotAllowed = () => new HttpError(405, "Invalid method");
