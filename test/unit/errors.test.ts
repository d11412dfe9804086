import { GraphQLError } from "graphql";
import { createFormatError, isUnexpected, withRequestId } from "../../src/graphql/errors";
import { BadUserInputError, ForbiddenError, NotFoundError, RateLimitedError, UnauthenticatedError } from "../../src/shared/errors";

const production = createFormatError({ exposeDetails: false, hideSuggestions: true });
/** What Apollo hands formatError for an error thrown in a resolver. */
const fromResolver = (original: Error) => {
  const wrapped = new GraphQLError(original.message, { originalError: original, path: ["user"] });
  return [{ message: original.message, path: ["user"], extensions: { code: "INTERNAL_SERVER_ERROR", stacktrace: ["Error: x", "  at y"] } }, wrapped] as const;
};

describe("formatError", () => {
  it.each([
    [new UnauthenticatedError(), { code: "UNAUTHENTICATED" }],
    [new ForbiddenError(), { code: "FORBIDDEN" }],
    [new NotFoundError("Session"), { code: "NOT_FOUND" }],
    [new RateLimitedError(42), { code: "RATE_LIMITED", retryAfter: 42 }],
    [BadUserInputError.field("input.phone", "must be E.164"), { code: "BAD_USER_INPUT", fields: [{ field: "input.phone", message: "must be E.164" }] }],
  ])("maps %p to its code and extensions", (error, extensions) => {
    expect(production(...fromResolver(error)).extensions).toEqual(extensions);
  });

  it("answers anything unexpected with INTERNAL_SERVER_ERROR and no details", () => {
    const formatted = production(...fromResolver(new Error('relation "users" does not exist at /app/src/x.ts')));
    expect(formatted).toEqual({ message: "Internal server error", extensions: { code: "INTERNAL_SERVER_ERROR" } });
    expect(isUnexpected(fromResolver(new Error("boom"))[1])).toBe(true);
  });

  it("keeps details in development", () => {
    const formatted = createFormatError({ exposeDetails: true, hideSuggestions: false })(...fromResolver(new Error("boom")));
    expect(formatted.message).toBe("boom");
  });

  it("passes request errors through without a stack and adds fields to BAD_USER_INPUT from variables", () => {
    const message = 'Variable "$input" got invalid value 5 at "input.email"; String cannot represent a non string value: 5';
    const error = new GraphQLError(message, { extensions: { code: "BAD_USER_INPUT" } });
    expect(production({ message, extensions: { code: "BAD_USER_INPUT", stacktrace: ["x"] } }, error)).toEqual({
      message,
      extensions: { code: "BAD_USER_INPUT", fields: [{ field: "input.email", message }] },
    });
  });

  it("item 9: a bad variable's message names the variable, the path and the problem, never the value nor a suggestion", () => {
    const inner = new GraphQLError('Field "emial" is not defined by type "RegisterInput". Did you mean "email"?');
    const message = `Variable "$input" got invalid value { emial: "a@example.com", password: "Sup3r secret!" } at "input"; ${inner.message}`;
    const error = new GraphQLError(message, { originalError: inner, extensions: { code: "BAD_USER_INPUT" } });
    const formatted = production({ message, extensions: { code: "BAD_USER_INPUT" } }, error);
    expect(formatted.message).toBe('Variable "$input" got invalid value at "input"; Field "emial" is not defined by type "RegisterInput".');
    expect(JSON.stringify(formatted)).not.toMatch(/secret|Did you mean/);

    const scalar = new GraphQLError("String cannot represent a non string value: 12345678");
    const leaf = `Variable "$input" got invalid value 12345678 at "input.password"; ${scalar.message}`;
    const shown = production({ message: leaf, extensions: { code: "BAD_USER_INPUT" } }, new GraphQLError(leaf, { originalError: scalar, extensions: { code: "BAD_USER_INPUT" } }));
    expect(shown).toMatchObject({ message: 'Variable "$input" got invalid value at "input.password"; String cannot represent a non string value', extensions: { fields: [{ field: "input.password" }] } });
  });

  it("puts the request id beside each error's own extensions", () => {
    const formatted = [production(...fromResolver(new ForbiddenError())), { message: "no extensions" }];
    expect(withRequestId(formatted, "r-1").map((e) => e.extensions)).toEqual([{ code: "FORBIDDEN", requestId: "r-1" }, { requestId: "r-1" }]);
  });
});
