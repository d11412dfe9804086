import type { Origin } from "../../../src/platform/events/unit-of-work";
import { PASSWORD, newEmail, useApp } from "../../support/harness";

// Service tests: the accounts service on real PostgreSQL, called without HTTP; the relay is off, so
// each unit of work's outbox rows stay where the test reads them.
const h = useApp({ OUTBOX_RELAY: "false" }, { http: false });
const origin: Origin = { actor: { type: "anonymous", id: null }, ipAddress: "203.0.113.5", requestId: "service-test" };

it("accounts: a registration commits the user, its user.registered event, its default role (trader), its verification mail and its audit record together", async () => {
  const email = newEmail();
  expect(await h.services.accounts.register({ email, password: PASSWORD }, origin)).toEqual({ status: "VERIFICATION_EMAIL_SENT" });
  const user = await h.prisma.user.findUniqueOrThrow({ where: { email } });
  const outbox = await h.prisma.outboxEvent.findMany({ where: { aggregateId: { in: [user.id, email] } }, orderBy: { seq: "asc" } });
  expect(outbox.map((row) => [row.destination, row.name])).toEqual([
    ["user-events", "user.registered"],
    ["user-events", "role.assigned"],
    ["notifications", "verify-email"],
  ]);
  expect(await h.prisma.userRole.findMany({ where: { userId: user.id }, select: { role: true } })).toEqual([{ role: "trader" }]);
  expect((await h.audit({ subjectId: user.id })).map((row) => [row.action, row.outcome, row.requestId])).toEqual([["user.register", "success", "service-test"]]);
});

it("accounts: a refused registration (a weak password) writes no user, no outbox row and no audit record", async () => {
  const email = newEmail();
  await expect(h.services.accounts.register({ email, password: "weak" }, { ...origin, requestId: "weak-password" })).rejects.toMatchObject({ code: "BAD_USER_INPUT", fields: expect.arrayContaining([{ field: "input.password", message: expect.any(String) }]) });
  expect(await h.prisma.user.count({ where: { email } })).toBe(0);
  expect(await h.prisma.outboxEvent.count({ where: { aggregateId: email } })).toBe(0);
  expect(await h.audit({ requestId: "weak-password" })).toEqual([]);
});

it("accounts: the verification link works until the injected clock passes EMAIL_VERIFICATION_TTL_S, then stops", async () => {
  const ttlMs = h.t.app.config.EMAIL_VERIFICATION_TTL_S * 1000;
  const fresh = newEmail();
  const late = newEmail();
  for (const email of [fresh, late]) await h.services.accounts.register({ email, password: PASSWORD }, origin);
  h.clock.offsetMs = ttlMs - 60_000;
  expect(await h.services.accounts.verifyEmail((await h.mailTo(fresh, "verify-email")).params.token as string, origin)).toMatchObject({ private: { email: fresh, status: "ACTIVE" } });
  h.clock.offsetMs = ttlMs + 60_000;
  await expect(h.services.accounts.verifyEmail((await h.mailTo(late, "verify-email")).params.token as string, origin)).rejects.toMatchObject({ fields: [{ field: "token", message: "is invalid or has expired" }] });
});
