import { Resvg } from "@resvg/resvg-js";
import jsQR from "jsqr";
import { decodeJwt } from "jose";
import { generateSync } from "otplib";
import {
  CompleteMfaLoginDocument,
  DisableTotpDocument,
  EnableTotpDocument,
  LoginDocument,
  MeDocument,
  RefreshTokensDocument,
  RegenerateBackupCodesDocument,
  RequestPasswordResetDocument,
  ResetPasswordDocument,
  SetupTotpDocument,
  StepUpDocument,
} from "../support/generated/operations";
import { PASSWORD, bearer, codeOf, fromNewIp, useApp, type SignedIn } from "../support/harness";
import { withClient } from "../support/db";

const h = useApp();

/** The TOTP code of `secret` at the app's clock, `steps` time steps away. */
const totp = (secret: string, steps = 0) => generateSync({ secret, epoch: Math.floor(h.clock.now().getTime() / 1000) + steps * 30 });
/** Moves the app's clock to the next 30-second time step: a code accepted once is never accepted again. */
const nextStep = () => {
  h.clock.offsetMs += 30_000;
};

interface Enrolled extends SignedIn {
  secret: string;
  backupCodes: string[];
}

/** A verified user, signed in, with TOTP on. */
async function enrolled(): Promise<Enrolled> {
  const user = await h.signedIn();
  const setup = await h.gql(SetupTotpDocument, {}, user.headers);
  const secret = setup.data?.setupTotp.secret as string;
  const enabled = await h.gql(EnableTotpDocument, { code: totp(secret) }, user.headers);
  return { ...user, secret, backupCodes: enabled.data?.enableTotp.backupCodes as string[] };
}

/** A password login from `headers`' address: the challenge it answers (fails when it answers tokens). */
async function challenge(user: { email: string }, headers: Record<string, string>) {
  const res = await h.gql(LoginDocument, { input: { email: user.email, password: PASSWORD, deviceName: "Pixel" } }, headers);
  if (res.data?.login.__typename !== "MfaChallenge") throw new Error(`expected an MFA challenge, got ${JSON.stringify(res)}`);
  return res.data.login;
}

const complete = (challengeToken: string, code: string, headers: Record<string, string>) => h.gql(CompleteMfaLoginDocument, { input: { challengeToken, code } }, headers);

describe("enrolment", () => {
  it("SECURITY 27: setupTotp answers a 160-bit base32 secret, its otpauth:// URI and a QR code of that URI (decoded here); calling it again replaces the pending secret", async () => {
    const user = await h.signedIn();
    const first = (await h.gql(SetupTotpDocument, {}, user.headers)).data?.setupTotp;
    expect(first?.secret).toMatch(/^[A-Z2-7]{32}$/);
    expect(first?.otpauthUri).toBe(`otpauth://totp/Identity:${encodeURIComponent(user.email)}?secret=${first?.secret}&issuer=Identity&algorithm=SHA1&digits=6&period=30`);
    const png = new Resvg(first?.qrCodeSvg as string, { fitTo: { mode: "width", value: 400 }, background: "white" }).render();
    const decoded = jsQR(new Uint8ClampedArray(png.pixels), png.width, png.height);
    expect(decoded?.data).toBe(first?.otpauthUri);
    const second = (await h.gql(SetupTotpDocument, {}, user.headers)).data?.setupTotp;
    expect(second?.secret).not.toBe(first?.secret);
    // The replaced secret's code no longer enables anything; the new one's does.
    expect(codeOf(await h.gql(EnableTotpDocument, { code: totp(first?.secret as string) }, user.headers))).toBe("BAD_USER_INPUT");
    expect((await h.gql(EnableTotpDocument, { code: totp(second?.secret as string) }, user.headers)).data?.enableTotp.backupCodes).toHaveLength(10);
  });

  it("SECURITY 28: enrolment activates only after a valid code; a wrong one leaves MFA off, names the field and is audited", async () => {
    const user = await h.signedIn();
    await h.gql(SetupTotpDocument, {}, user.headers);
    const wrong = await h.gql(EnableTotpDocument, { code: "000000" }, user.headers);
    expect(codeOf(wrong)).toBe("BAD_USER_INPUT");
    expect(wrong.errors?.[0]?.extensions?.fields).toEqual([{ field: "code", message: "is not a valid code of the pending secret" }]);
    expect((await h.gql(MeDocument, {}, user.headers)).data?.me.mfaEnabled).toBe(false);
    expect((await h.audit({ action: "mfa.enable", outcome: "failure", subjectId: user.user.id })).length).toBe(1);
    expect(await h.login(user.email)).not.toBeNull(); // still a one-step login
  });

  it("SECURITY 27, 29, 5: enabling answers 10 backup codes once; MFA is on, announced and audited; an active secret is never shown again", async () => {
    const user = await enrolled();
    expect(user.backupCodes).toHaveLength(10);
    for (const code of user.backupCodes) expect(code).toMatch(/^[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}$/);
    expect(new Set(user.backupCodes).size).toBe(10);
    expect((await h.gql(MeDocument, {}, user.headers)).data?.me.mfaEnabled).toBe(true);
    expect((await h.mailTo(user.email, "mfa-enabled")).params).toEqual({ backupCodes: "10" });
    expect(await h.prisma.outboxEvent.count({ where: { name: "mfa.enabled", aggregateId: user.user.id } })).toBe(1);
    expect((await h.audit({ action: "mfa.enable", outcome: "success", subjectId: user.user.id })).length).toBe(1);
    const again = await h.gql(SetupTotpDocument, {}, user.headers);
    expect([codeOf(again), again.data]).toEqual(["FORBIDDEN", null]);
  });

  it("SECURITY 25: the code that enrolled is spent: it neither steps up nor completes a login", async () => {
    const user = await h.signedIn();
    const secret = (await h.gql(SetupTotpDocument, {}, user.headers)).data?.setupTotp.secret as string;
    const code = totp(secret);
    expect((await h.gql(EnableTotpDocument, { code }, user.headers)).data?.enableTotp.backupCodes).toHaveLength(10);
    expect(codeOf(await h.gql(StepUpDocument, { code }, user.headers))).toBe("FORBIDDEN");
    const headers = fromNewIp();
    expect(codeOf(await complete((await challenge(user, headers)).challengeToken, code, headers))).toBe("UNAUTHENTICATED");
  });

  it("SECURITY 27: enableTotp racing a setupTotp that replaces the pending secret never turns on a secret the code was not checked against", async () => {
    for (let round = 0; round < 3; round++) {
      const user = await h.signedIn();
      const first = (await h.gql(SetupTotpDocument, {}, user.headers)).data?.setupTotp.secret as string;
      const [enabled, replaced] = await Promise.all([h.gql(EnableTotpDocument, { code: totp(first) }, user.headers), h.gql(SetupTotpDocument, {}, user.headers)]);
      const row = await h.prisma.mfaTotp.findUniqueOrThrow({ where: { userId: user.user.id } });
      if (enabled.data?.enableTotp) {
        // The enable won: MFA is on with the first secret (its next code steps up), and the replacement was refused.
        expect(row.enabledAt).not.toBeNull();
        expect(codeOf(replaced)).toBe("FORBIDDEN");
        nextStep();
        expect((await h.gql(StepUpDocument, { code: totp(first) }, user.headers)).data?.stepUp.tokenType).toBe("Bearer");
      } else {
        // The replacement won: MFA stays off, pending on the second secret.
        expect(row.enabledAt).toBeNull();
        expect(replaced.data?.setupTotp.secret).toMatch(/^[A-Z2-7]{32}$/);
        expect(codeOf(enabled)).toMatch(/^(FORBIDDEN|BAD_USER_INPUT)$/);
      }
    }
  });

  it("SECURITY 4: enrolling changes recovery data: refused more than 15 minutes after the login, even with a token refreshed since", async () => {
    const user = await h.signedIn();
    h.clock.offsetMs += 16 * 60_000;
    const refreshed = (await h.gql(RefreshTokensDocument, { refreshToken: user.refreshToken })).data?.refreshTokens;
    const stale = bearer(refreshed?.accessToken as string);
    const refused = await h.gql(SetupTotpDocument, {}, stale);
    expect([codeOf(refused), refused.errors?.[0]?.message]).toEqual(["FORBIDDEN", "Requires recent-auth:900"]);
    expect(codeOf(await h.gql(EnableTotpDocument, { code: "123456" }, stale))).toBe("FORBIDDEN");
    const fresh = await h.signedIn(user);
    expect((await h.gql(SetupTotpDocument, {}, fresh.headers)).data?.setupTotp.secret).toMatch(/^[A-Z2-7]{32}$/);
  });

  it("SECURITY 27, 29: the database holds no TOTP secret and no backup code in clear (every text column of every table searched)", async () => {
    const user = await enrolled();
    const needles = [user.secret, ...user.backupCodes, ...user.backupCodes.map((c) => c.replace(/-/g, ""))];
    await withClient(h.t.databaseUrl, async (client) => {
      const columns = await client.query<{ table_name: string; column_name: string }>(
        `SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = 'public' AND data_type IN ('text', 'character varying', 'character', 'jsonb', 'json', 'citext', 'USER-DEFINED', 'ARRAY')`,
      );
      expect(columns.rows.length).toBeGreaterThan(20);
      for (const { table_name, column_name } of columns.rows) {
        const found = await client.query(`SELECT 1 FROM "${table_name}" WHERE "${column_name}"::text ILIKE ANY($1) LIMIT 1`, [needles.map((n) => `%${n}%`)]);
        expect({ table_name, column_name, found: found.rowCount }).toEqual({ table_name, column_name, found: 0 });
      }
    });
    // Nor in any log line.
    const logged = JSON.stringify(h.t.logs());
    for (const needle of needles) expect(logged).not.toContain(needle);
  });
});

describe("the login challenge", () => {
  it("SECURITY 30, 14: with MFA on, login answers a challenge bound to that attempt; it is no bearer token, no refresh token, and useless from another address", async () => {
    const user = await enrolled();
    const headers = fromNewIp();
    const started = h.clock.now().getTime();
    const ch = await challenge(user, headers);
    expect(ch.methods).toEqual(["TOTP", "BACKUP_CODE"]);
    expect(new Date(ch.expiresAt as string).getTime() - started).toBeGreaterThan(295_000);
    expect(new Date(ch.expiresAt as string).getTime() - started).toBeLessThanOrEqual(301_000);
    expect(codeOf(await h.gql(MeDocument, {}, bearer(ch.challengeToken)))).toBe("UNAUTHENTICATED");
    expect(codeOf(await h.gql(RefreshTokensDocument, { refreshToken: ch.challengeToken }))).toBe("UNAUTHENTICATED");
    nextStep();
    expect(codeOf(await complete(ch.challengeToken, totp(user.secret), fromNewIp()))).toBe("UNAUTHENTICATED");
    // The attempt's own address completes it: the same session, events and mail as a password login.
    const done = await complete(ch.challengeToken, totp(user.secret), headers);
    expect(done.data?.completeMfaLogin).toMatchObject({ tokenType: "Bearer", user: { id: user.user.id } });
    const payload = done.data?.completeMfaLogin;
    expect(decodeJwt(payload?.accessToken as string)).toMatchObject({ sub: user.user.id, sid: payload?.session.id, amr: ["pwd", "otp"] });
    expect((await h.gql(MeDocument, {}, bearer(payload?.accessToken as string))).data?.me.email).toBe(user.email);
    expect(await h.prisma.session.findUnique({ where: { id: payload?.session.id }, select: { deviceName: true, amr: true } })).toEqual({ deviceName: "Pixel", amr: ["pwd", "otp"] });
    expect(await h.prisma.outboxEvent.count({ where: { name: "user.logged_in", aggregateId: user.user.id } })).toBe(2);
    // Spent: the challenge completes one login only.
    nextStep();
    expect(codeOf(await complete(ch.challengeToken, totp(user.secret), headers))).toBe("UNAUTHENTICATED");
  });

  it("SECURITY 30, 25: two completions of one challenge at once make one session; the other is refused without a failure notice", async () => {
    const user = await enrolled();
    const headers = fromNewIp();
    const ch = await challenge(user, headers);
    nextStep();
    const code = totp(user.secret);
    const answers = await Promise.all([complete(ch.challengeToken, code, headers), complete(ch.challengeToken, code, headers)]);
    expect(answers.filter((a) => a.data?.completeMfaLogin).length).toBe(1);
    expect(answers.map(codeOf).filter(Boolean)).toEqual(["UNAUTHENTICATED"]);
    expect(await h.prisma.session.count({ where: { userId: user.user.id } })).toBe(2); // the enrolling login's, and this one
    expect(await h.prisma.outboxEvent.count({ where: { name: "mfa.challenge_failed", aggregateId: user.user.id } })).toBe(0);
  });

  it("the login challenges are the user's personal data: exported with the attempt they were bound to, erased with MFA's part", async () => {
    const user = await enrolled();
    const headers = fromNewIp();
    await challenge(user, headers);
    const registry = h.t.app.modules.users.api.personalData;
    const exported = (await registry.export(user.user.id)).mfa as { totp: { enabledAt: Date }; loginChallenges: { ipAddress: string; device: { name: string } }[] };
    expect(exported.totp.enabledAt).toEqual(expect.any(Date));
    expect(exported.loginChallenges).toEqual([expect.objectContaining({ ipAddress: headers["x-forwarded-for"], device: expect.objectContaining({ name: "Pixel" }) })]);
    expect(JSON.stringify(exported)).not.toContain(user.secret);
    await h.t.app.platform.events.unitOfWork.run({ actor: { type: "system", id: null } }, (scope) => registry.erase(scope, user.user.id));
    expect((await registry.export(user.user.id)).mfa).toEqual({ totp: null, loginChallenges: [] });
  });

  it("SECURITY 30: an expired challenge completes nothing", async () => {
    const user = await enrolled();
    const headers = fromNewIp();
    const ch = await challenge(user, headers);
    h.clock.offsetMs += 301_000;
    expect(codeOf(await complete(ch.challengeToken, totp(user.secret), headers))).toBe("UNAUTHENTICATED");
  });

  it("SECURITY 5: a right password followed by a wrong second factor notifies the user and emits mfa.challenge_failed; the challenge stays for another try", async () => {
    const user = await enrolled();
    const headers = fromNewIp();
    const ch = await challenge(user, headers);
    const wrong = await complete(ch.challengeToken, "123456", headers);
    expect([codeOf(wrong), wrong.errors?.[0]?.message]).toEqual(["UNAUTHENTICATED", "Invalid or expired MFA challenge or code"]);
    expect((await h.mailTo(user.email, "mfa-challenge-failed")).params).toEqual({ ipAddress: headers["x-forwarded-for"], userAgent: "node" });
    const failed = await h.prisma.outboxEvent.findFirst({ where: { name: "mfa.challenge_failed", aggregateId: user.user.id } });
    expect((failed?.payload as { data: unknown }).data).toEqual({ reason: "wrong_code" });
    nextStep();
    expect((await complete(ch.challengeToken, totp(user.secret), headers)).data?.completeMfaLogin.user.id).toBe(user.user.id);
  });

  it("SECURITY 29, 25: a backup code completes a login once; its second use fails and is audited as reused", async () => {
    const user = await enrolled();
    const [code] = user.backupCodes as [string];
    const headers = fromNewIp();
    // Typed loosely: lower case, without dashes.
    expect((await complete((await challenge(user, headers)).challengeToken, code.replace(/-/g, "").toLowerCase(), headers)).data?.completeMfaLogin.user.id).toBe(user.user.id);
    expect(codeOf(await complete((await challenge(user, headers)).challengeToken, code, headers))).toBe("UNAUTHENTICATED");
    expect((await h.audit({ action: "mfa.code_reuse", subjectId: user.user.id })).map((a) => a.metadata)).toEqual([{ factor: "backup_code_reused", during: "login" }]);
    expect(await h.prisma.mfaBackupCode.count({ where: { userId: user.user.id, usedAt: { not: null } } })).toBe(1);
  });
});

describe("codes are accepted once and guesses are limited", () => {
  it("SECURITY 25: a TOTP code is accepted once: replayed after its use, and by two requests at once, it fails; the replay is audited", async () => {
    const user = await enrolled();
    nextStep();
    const code = totp(user.secret);
    expect((await h.gql(StepUpDocument, { code }, user.headers)).data?.stepUp.tokenType).toBe("Bearer");
    expect(codeOf(await h.gql(StepUpDocument, { code }, user.headers))).toBe("FORBIDDEN");
    nextStep();
    const racing = totp(user.secret);
    const answers = await Promise.all(Array.from({ length: 4 }, () => h.gql(StepUpDocument, { code: racing }, user.headers)));
    expect(answers.filter((a) => a.data?.stepUp).length).toBe(1);
    expect(answers.filter((a) => codeOf(a) === "FORBIDDEN").length).toBe(3);
    const reuses = await h.audit({ action: "mfa.code_reuse", subjectId: user.user.id });
    expect(reuses.map((a) => a.metadata)).toEqual(Array.from({ length: 4 }, () => ({ factor: "totp_reused", during: "step_up" })));
    expect(await h.prisma.outboxEvent.count({ where: { name: "mfa.code_reused", aggregateId: user.user.id } })).toBe(4);
    // The user is told of each replay.
    expect(await h.prisma.outboxEvent.count({ where: { destination: "notifications", name: "mfa-challenge-failed", aggregateId: user.email } })).toBe(4);
  });

  it("SECURITY 26: guesses are limited per account across requests and aliases: 5 wrong codes, then a cooldown in which even the right code fails, for every challenge", async () => {
    const user = await enrolled();
    // Twenty aliased guesses in one operation: execution stops at the first refusal (a non-null
    // mutation field), so each operation judges one code, and the sixth is refused unjudged.
    const aliases = Array.from({ length: 20 }, (_, i) => `a${i}: regenerateBackupCodes(code: "${String(100000 + i)}") { backupCodes }`).join("\n");
    const answers: unknown[] = [];
    for (let i = 0; i < 6; i++) answers.push((await h.gql(`mutation { ${aliases} }`, {}, user.headers)).errors?.map((e) => e.extensions?.code));
    expect(answers).toEqual([...Array.from({ length: 5 }, () => ["FORBIDDEN"]), ["RATE_LIMITED"]]);
    expect((await h.audit({ action: "mfa.backup_codes_regenerate", outcome: "failure", subjectId: user.user.id })).length).toBe(5);
    nextStep();
    expect(codeOf(await h.gql(RegenerateBackupCodesDocument, { code: totp(user.secret) }, user.headers))).toBe("RATE_LIMITED");
    // Across challenges too: a new login's right code is refused in the cooldown.
    const headers = fromNewIp();
    expect(codeOf(await complete((await challenge(user, headers)).challengeToken, totp(user.secret), headers))).toBe("RATE_LIMITED");
  });

  it("SECURITY 26: ten wrong codes at once judge five: each is counted before it is judged", async () => {
    const user = await enrolled();
    const answers = await Promise.all(Array.from({ length: 10 }, (_, i) => h.gql(StepUpDocument, { code: String(200000 + i) }, user.headers)));
    expect(answers.map(codeOf).sort()).toEqual([...Array.from({ length: 5 }, () => "FORBIDDEN"), ...Array.from({ length: 5 }, () => "RATE_LIMITED")]);
  });

  it("SECURITY 26, 45: completeMfaLogin and stepUp are single-use root fields: two in one operation are refused before execution", async () => {
    const user = await enrolled();
    for (const field of ["stepUp(code: $c) { tokenType }", 'completeMfaLogin(input: { challengeToken: $c, code: "1" }) { tokenType }']) {
      const res = await h.gql(`mutation($c: String!) { a: ${field} b: ${field} }`, { c: "123456" }, user.headers);
      expect(res.status).toBe(400);
      expect(codeOf(res)).toBe("GRAPHQL_VALIDATION_FAILED");
    }
  });
});

describe("step-up, resets, refresh and turning MFA off", () => {
  it("stepUp answers an access token for the current session with amr [pwd, otp] and auth_time now; refresh keeps the session's amr", async () => {
    const user = await enrolled();
    expect(decodeJwt(user.accessToken)).toMatchObject({ amr: ["pwd"] });
    nextStep();
    const before = Math.floor(h.clock.now().getTime() / 1000);
    const stepped = (await h.gql(StepUpDocument, { code: totp(user.secret) }, user.headers)).data?.stepUp;
    const claims = decodeJwt(stepped?.accessToken as string);
    expect(claims).toMatchObject({ sub: user.user.id, sid: user.session.id, amr: ["pwd", "otp"] });
    expect(claims.auth_time).toBeGreaterThanOrEqual(before);
    expect((await h.gql(MeDocument, {}, bearer(stepped?.accessToken as string))).data?.me.id).toBe(user.user.id);
    const refreshed = (await h.gql(RefreshTokensDocument, { refreshToken: user.refreshToken })).data?.refreshTokens;
    expect(decodeJwt(refreshed?.accessToken as string)).toMatchObject({ amr: ["pwd", "otp"], auth_time: claims.auth_time });
  });

  it("SECURITY 6: a password reset does not turn MFA off: the next login still asks for the second factor", async () => {
    const user = await enrolled();
    await h.gql(RequestPasswordResetDocument, { email: user.email }, fromNewIp());
    const { params } = await h.mailTo(user.email, "password-reset");
    const newPassword = "Another-Horse-43!";
    expect((await h.gql(ResetPasswordDocument, { input: { token: params.token as string, newPassword } })).data?.resetPassword).toBe(true);
    const res = await h.gql(LoginDocument, { input: { email: user.email, password: newPassword } }, fromNewIp());
    expect(res.data?.login.__typename).toBe("MfaChallenge");
  });

  it("SECURITY 6: a challenge issued before a password reset completes no login after it", async () => {
    const user = await enrolled();
    const headers = fromNewIp();
    const ch = await challenge(user, headers);
    await h.gql(RequestPasswordResetDocument, { email: user.email }, fromNewIp());
    const { params } = await h.mailTo(user.email, "password-reset");
    await h.gql(ResetPasswordDocument, { input: { token: params.token as string, newPassword: "Another-Horse-44!" } });
    nextStep();
    expect(codeOf(await complete(ch.challengeToken, totp(user.secret), headers))).toBe("UNAUTHENTICATED");
  });

  it("SECURITY 29: regenerating backup codes needs a code and voids every old code", async () => {
    const user = await enrolled();
    expect(codeOf(await h.gql(RegenerateBackupCodesDocument, { code: "" }, user.headers))).toBe("FORBIDDEN");
    nextStep();
    const fresh = (await h.gql(RegenerateBackupCodesDocument, { code: totp(user.secret) }, user.headers)).data?.regenerateBackupCodes.backupCodes as string[];
    expect(fresh).toHaveLength(10);
    expect(fresh.filter((c) => user.backupCodes.includes(c))).toEqual([]);
    const headers = fromNewIp();
    expect(codeOf(await complete((await challenge(user, headers)).challengeToken, user.backupCodes[0] as string, headers))).toBe("UNAUTHENTICATED");
    expect((await complete((await challenge(user, headers)).challengeToken, fresh[0] as string, headers)).data?.completeMfaLogin.user.id).toBe(user.user.id);
    expect(await h.prisma.outboxEvent.count({ where: { name: "mfa.backup_codes_regenerated", aggregateId: user.user.id } })).toBe(1);
  });

  it("SECURITY 4, 28: disabling MFA needs the password and a code; then it is off, announced, and login is one step again", async () => {
    const user = await enrolled();
    nextStep();
    const noCode = await h.gql(DisableTotpDocument, { input: { password: PASSWORD, code: "" } }, user.headers);
    const wrongPassword = await h.gql(DisableTotpDocument, { input: { password: "Wrong-Horse-42!", code: totp(user.secret) } }, user.headers);
    // One answer for a wrong code and a wrong password: a stolen token cannot test password guesses here.
    expect([codeOf(noCode), noCode.errors?.[0]?.message]).toEqual(["FORBIDDEN", "Invalid password or code"]);
    expect([codeOf(wrongPassword), wrongPassword.errors?.[0]?.message]).toEqual(["FORBIDDEN", "Invalid password or code"]);
    expect((await h.gql(MeDocument, {}, user.headers)).data?.me.mfaEnabled).toBe(true);
    expect((await h.gql(DisableTotpDocument, { input: { password: PASSWORD, code: totp(user.secret) } }, user.headers)).data?.disableTotp).toBe(true);
    expect((await h.gql(MeDocument, {}, user.headers)).data?.me.mfaEnabled).toBe(false);
    expect((await h.mailTo(user.email, "mfa-disabled")).params).toEqual({ ipAddress: expect.any(String) });
    expect(await h.prisma.outboxEvent.count({ where: { name: "mfa.disabled", aggregateId: user.user.id } })).toBe(1);
    expect(await h.prisma.mfaBackupCode.count({ where: { userId: user.user.id } })).toBe(0);
    expect(await h.login(user.email)).not.toBeNull();
  });

  it("no secret, code or backup code in any event, notification, audit record or log line of the whole flow", async () => {
    const user = await enrolled();
    const presented: string[] = [user.secret, ...user.backupCodes];
    const present = (code: string) => (presented.push(code), code);
    const headers = fromNewIp();
    await complete((await challenge(user, headers)).challengeToken, present("654321"), headers);
    await complete((await challenge(user, headers)).challengeToken, present(user.backupCodes[0] as string), headers);
    nextStep();
    await h.gql(StepUpDocument, { code: present(totp(user.secret)) }, user.headers);
    await h.gql(StepUpDocument, { code: present("111111") }, user.headers);
    nextStep();
    await h.gql(DisableTotpDocument, { input: { password: PASSWORD, code: present(totp(user.secret)) } }, user.headers);
    await h.mailTo(user.email, "mfa-disabled");
    const outbox = await h.prisma.outboxEvent.findMany({ where: { aggregateId: { in: [user.user.id, user.email] } }, select: { name: true, payload: true } });
    const rows = JSON.stringify([outbox, await h.audit({ subjectId: user.user.id })], (_key, value: unknown) => (typeof value === "bigint" ? String(value) : value));
    expect(rows).toContain("mfa.challenge_failed");
    expect(rows).toContain("mfa.disabled");
    const jobs = JSON.stringify([...(await h.queues.jobs("notifications")), ...(await h.queues.jobs("user-events"))]);
    const logs = JSON.stringify(h.t.logs());
    for (const code of presented) for (const text of [rows, jobs, logs]) expect(text.includes(code)).toBe(false);
  });
});
