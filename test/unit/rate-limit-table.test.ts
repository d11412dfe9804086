import type { Origin } from "../../src/platform/events/unit-of-work";
import { limit, type LimitDeps } from "../../src/platform/ratelimit/limits";
import { MemoryRateLimitStore } from "../../src/platform/ratelimit/store";
import { HOUR } from "../../src/shared/time";

const from = (ipAddress?: string): Origin => ({ actor: { type: "anonymous", id: null }, ipAddress });
const deps = (): LimitDeps => ({ rateLimits: new MemoryRateLimitStore(), prisma: null as never });

it("rate limit table: each count of a limit is kept per its subject, and a request spends only the counts whose subjects it gives", async () => {
  const d = deps();
  const resend = limit("resend", { by: [["ip", 2], ["user", 1]], per: HOUR });
  await resend.consume(d, { ip: from("198.51.100.1") });
  await resend.consume(d, { ip: from("198.51.100.1") });
  await expect(resend.consume(d, { ip: from("198.51.100.1") })).rejects.toMatchObject({ code: "RATE_LIMITED" });
  await resend.consume(d, { ip: from("198.51.100.2") });
  await resend.consume(d, { user: "u1" });
  await expect(resend.consume(d, { user: "u1" })).rejects.toMatchObject({ code: "RATE_LIMITED" });
  await resend.consume(d, { user: "u2" });
});

it("rate limit table: clients whose address is not known share one count", async () => {
  const d = deps();
  const register = limit("register", { by: [["ip", 1]], per: HOUR });
  await register.consume(d, { ip: from(undefined) });
  await expect(register.consume(d, { ip: from(undefined) })).rejects.toMatchObject({ code: "RATE_LIMITED" });
  await register.consume(d, { ip: from("unknown-is-not-an-address") });
});

it("rate limit table: limits of different names never share a count, and a pair of subjects is counted per pair", async () => {
  const d = deps();
  const login = limit("login", { by: [["account+ip", 1]], per: HOUR });
  const failures = limit("login-failures", { by: [["account", 1]], per: HOUR });
  await login.consume(d, { account: "a", ip: from("198.51.100.1") });
  await login.consume(d, { account: "a", ip: from("198.51.100.2") });
  await failures.consume(d, { account: "a" });
  await expect(login.consume(d, { account: "a", ip: from("198.51.100.1") })).rejects.toMatchObject({ code: "RATE_LIMITED" });
});

it("rate limit table: a refund gives back the unit a consume took", async () => {
  const d = deps();
  const failures = limit("login-failures", { by: [["account", 1]], per: HOUR });
  await failures.consume(d, { account: "a" });
  await failures.refund(d, { account: "a" });
  await failures.consume(d, { account: "a" });
  await expect(failures.consume(d, { account: "a" })).rejects.toMatchObject({ code: "RATE_LIMITED" });
});

it("rate limit table: a request that names none of a limit's subjects is an error, not a request let through", async () => {
  const login = limit("login", { by: [["account+ip", 1]], per: HOUR });
  await expect(login.consume(deps(), { account: "a" })).rejects.toThrow("limit login: no count is kept per account");
});
