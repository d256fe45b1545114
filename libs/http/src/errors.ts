/** An error with a stable code that the HTTP error handler turns into `{ code, message }`. */
export class ApiError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export const badRequest = (message: string, code = 'BAD_REQUEST') => new ApiError(400, code, message);
export const notFound = (message: string, code = 'NOT_FOUND') => new ApiError(404, code, message);
export const unauthorized = (message: string) => new ApiError(401, 'UNAUTHORIZED', message);
export const forbidden = (message: string) => new ApiError(403, 'FORBIDDEN', message);
export const conflict = (message: string, code = 'CONFLICT') => new ApiError(409, code, message);
/** 503 with Retry-After: a dependency is down for now, and the client is told when to retry. */
export const unavailable = (message: string, code = 'SERVICE_UNAVAILABLE') =>
  new ApiError(503, code, message, { 'retry-after': '5' });
