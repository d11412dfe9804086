import { Writable } from "node:stream";
import { createLogger } from "../../src/platform/logging/logger";
import { requestIdFrom } from "../../src/platform/logging/request-context";

function capture() {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(...chunk.toString().split("\n").filter(Boolean));
      done();
    },
  });
  return { logger: createLogger({ level: "info", destination }), lines: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>) };
}

it("writes JSON lines; a request's logger (the context's) adds its id", () => {
  const { logger, lines } = capture();
  logger.child({ requestId: "abc" }).info("inside");
  logger.info("outside");
  expect(lines().map((l) => [l.msg, l.requestId])).toEqual([
    ["inside", "abc"],
    ["outside", undefined],
  ]);
});

it("redacts authorization headers, cookies, passwords and tokens", () => {
  const { logger, lines } = capture();
  logger.info({
    req: { headers: { authorization: "Bearer secret-at", cookie: "sid=secret-cookie" } },
    input: { password: "secret-pw", newPassword: "secret-new" },
    variables: { refreshToken: "secret-rt", input: { currentPassword: "secret-cur", code: "123456" } },
  });
  const text = JSON.stringify(lines());
  expect(text).not.toMatch(/secret|123456/);
  expect(text).toContain("[REDACTED]");
});

it("accepts a sane x-request-id and replaces anything else", () => {
  expect(requestIdFrom("abc-123_X.y:z")).toBe("abc-123_X.y:z");
  for (const bad of ["a b", "x".repeat(129), "line\nbreak", "", undefined]) expect(requestIdFrom(bad)).toMatch(/^[0-9a-f-]{36}$/);
  expect(requestIdFrom(["first", "second"])).toBe("first");
});
