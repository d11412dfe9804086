import type { Origin } from "../../../src/platform/events/unit-of-work";
import { useApp } from "../../support/harness";

// Service tests of the personal-data registry that the modules join (GDPR export and erasure use it).
const h = useApp();
const origin: Origin = { actor: { type: "system", id: null }, requestId: "personal-data" };
const registry = () => h.t.app.modules.users.api.personalData;

it("personal data: export collects every registered module's part of the user (authz, accounts, sessions, mfa, audit, kyc, preferences, trading-accounts), without hashes or tokens", async () => {
  const { email, user, session } = await h.signedIn();
  const data = await registry().export(user.id);
  expect(Object.keys(data)).toEqual(["authz", "sessions", "accounts", "mfa", "audit", "kyc", "preferences", "trading-accounts"]);
  expect(data.authz).toMatchObject({ roles: [{ role: "trader" }], grants: [] });
  expect(data.mfa).toEqual({ totp: null, loginChallenges: [] }); // no TOTP enrolled
  expect(data.preferences).toBeNull(); // the defaults: nothing stored
  expect(data.accounts).toMatchObject({ profile: { id: user.id, email }, emailVerifications: [{ usedAt: expect.any(Date) }], passwordResets: [] });
  expect(data.sessions).toEqual([expect.objectContaining({ id: session.id, revokedAt: null })]);
  expect(data.audit).toEqual(expect.arrayContaining([expect.objectContaining({ action: "user.register", outcome: "success" })]));
  expect(JSON.stringify(data)).not.toMatch(/passwordHash|tokenHash|\$2[aby]\$/);
});

it("personal data: erase runs every registered module's part in one unit of work: the links and sessions go, the audit trail stays", async () => {
  const { user } = await h.signedIn();
  const before = await registry().export(user.id);
  await h.t.app.platform.events.unitOfWork.run(origin, (scope) => registry().erase(scope, user.id));
  const after = await registry().export(user.id);
  expect(after.sessions).toEqual([]);
  expect(after.accounts).toMatchObject({ emailVerifications: [], passwordResets: [] });
  expect(after.audit).toEqual(before.audit);
});

it("personal data: a second part of the same module is refused", () => {
  expect(() => registry().register({ module: "sessions", export: async () => null, erase: async () => undefined })).toThrow("personal data of sessions is registered twice");
});
