/** The error family every layer throws; src/graphql/errors.ts maps it to what a caller sees. */

/** The `extensions.code` values callers rely on (the shared contract README). */
export type ErrorCode = "UNAUTHENTICATED" | "FORBIDDEN" | "BAD_USER_INPUT" | "NOT_FOUND" | "RATE_LIMITED" | "INTERNAL_SERVER_ERROR" | "REAUTH_REQUIRED" | "BROKER_UNAVAILABLE";

export interface FieldProblem {
  field: string;
  message: string;
}

/** Base of every error a caller is meant to see. Anything else is answered as INTERNAL_SERVER_ERROR. */
export abstract class AppError extends Error {
  abstract readonly code: ErrorCode;
  extensions(): Record<string, unknown> {
    return {};
  }
}

export class BadUserInputError extends AppError {
  readonly code = "BAD_USER_INPUT";
  constructor(readonly fields: FieldProblem[]) {
    super(`Invalid input: ${fields.map((f) => `${f.field} ${f.message}`).join("; ")}`);
  }
  static field(field: string, message: string): BadUserInputError {
    return new BadUserInputError([{ field, message }]);
  }
  override extensions() {
    return { fields: this.fields };
  }
}

export class UnauthenticatedError extends AppError {
  readonly code = "UNAUTHENTICATED";
  constructor(message = "Authentication required") {
    super(message);
  }
}

export class ForbiddenError extends AppError {
  readonly code = "FORBIDDEN";
  constructor(message = "Not allowed") {
    super(message);
  }
}

export class NotFoundError extends AppError {
  readonly code = "NOT_FOUND";
  constructor(what: string) {
    super(`${what} not found`);
  }
}

export class RateLimitedError extends AppError {
  readonly code = "RATE_LIMITED";
  constructor(readonly retryAfterSeconds: number) {
    super(`Too many requests; retry after ${retryAfterSeconds} s`);
  }
  override extensions() {
    return { retryAfter: this.retryAfterSeconds };
  }
}

/** What was thrown, as an Error (a thrown non-Error becomes one with its text). */
export function asError(thrown: unknown): Error {
  return thrown instanceof Error ? thrown : new Error(String(thrown));
}
