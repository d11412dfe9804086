import { RegisterDocument, ResendVerificationEmailDocument, VerifyEmailDocument } from "../support/generated/operations";
import { PASSWORD, citextSpellings, fromNewIp, newEmail, useApp } from "../support/harness";
import { graphql } from "../support/graphql";
import { waitUntil } from "../support/wait";

const h = useApp();
const from = fromNewIp;
const mailTo = (email: string, template: string) => h.mailTo(email, template);

describe("register", () => {
  it("SECURITY 1: answers a new and a taken email identically; the owner of the taken one is told", async () => {
    const email = newEmail();
    const first = await graphql(h.t.baseUrl, RegisterDocument, { input: { email, password: PASSWORD, name: "Ada" } }, from());
    const again = await graphql(h.t.baseUrl, RegisterDocument, { input: { email: email.toUpperCase(), password: "Another-Pass-77?" } }, from());
    expect(first.status).toBe(200);
    expect({ status: again.status, data: again.data, errors: again.errors }).toEqual({ status: first.status, data: first.data, errors: first.errors });
    expect(first.data).toEqual({ register: { status: "VERIFICATION_EMAIL_SENT" } });
    const verify = await mailTo(email, "verify-email");
    expect(verify.params.link).toBe(`https://id.example.test/verify-email?token=${verify.params.token}`);
    await mailTo(email, "account-exists");
    expect(await h.t.app.platform.database.prisma.user.count({ where: { email } })).toBe(1);
  });

  it("of five registrations of one new address at once, one creates the account and four tell its owner", async () => {
    const email = newEmail();
    const answers = await Promise.all(Array.from({ length: 5 }, (_, i) => graphql(h.t.baseUrl, RegisterDocument, { input: { email: i % 2 ? email.toUpperCase() : email, password: PASSWORD } }, from())));
    expect(answers.map((a) => a.data)).toEqual(Array(5).fill({ register: { status: "VERIFICATION_EMAIL_SENT" } }));
    const prisma = h.t.app.platform.database.prisma;
    expect(await prisma.user.count({ where: { email } })).toBe(1);
    expect(await prisma.singleUseToken.count({ where: { purpose: "email-verification", user: { email } } })).toBe(1);
    const mails = await waitUntil("five mails", async () => {
      const jobs = (await h.queues.jobs("notifications")).filter((j) => (j.data as { to: string }).to.toLowerCase() === email);
      return jobs.length === 5 ? jobs : undefined;
    });
    expect(mails.map((j) => j.name).sort()).toEqual(["account-exists", "account-exists", "account-exists", "account-exists", "verify-email"]);
  });

  it("publishes user.registered and stores a bcrypt hash, never the password", async () => {
    const email = newEmail();
    await graphql(h.t.baseUrl, RegisterDocument, { input: { email, password: PASSWORD, locale: "pt-br", timezone: "America/Sao_Paulo", preferredCurrency: "brl" } }, from());
    const user = await h.t.app.platform.database.prisma.user.findUniqueOrThrow({ where: { email } });
    expect(user).toMatchObject({ status: "PENDING_VERIFICATION", locale: "pt-BR", timezone: "America/Sao_Paulo", preferredCurrency: "BRL" });
    expect(user.passwordHash).toMatch(/^\$2b\$04\$/);
    await waitUntil("user.registered", async () => (await h.queues.jobs("user-events")).find((j) => j.name === "user.registered" && (j.data as { aggregateId: string }).aggregateId === user.id));
  });

  it("SECURITY 7, 8 and 11: names every problem of a weak password under the product policy", async () => {
    const res = await graphql(h.t.baseUrl, RegisterDocument, { input: { email: "ada.lovelace@example.test", password: "ada.lovelace" } }, from());
    expect(res.errors?.[0]?.extensions?.code).toBe("BAD_USER_INPUT");
    expect(res.errors?.[0]?.extensions?.fields).toEqual([
      { field: "input.password", message: "must contain an upper-case letter" },
      { field: "input.password", message: "must contain a digit" },
      { field: "input.password", message: "must not contain your email address" },
    ]);
  });

  it("SECURITY 9: refuses a password over 72 UTF-8 bytes instead of truncating it", async () => {
    const res = await graphql(h.t.baseUrl, RegisterDocument, { input: { email: newEmail(), password: `Aa1!${"é".repeat(35)}` } }, from());
    expect(res.errors?.[0]?.extensions?.fields).toEqual([{ field: "input.password", message: "must be at most 72 bytes in UTF-8 (bcrypt's limit)" }]);
  });

  it("names each bad profile field", async () => {
    const res = await graphql(h.t.baseUrl, RegisterDocument, { input: { email: "not-an-email", password: PASSWORD, locale: "not a locale!", timezone: "Mars/Olympus", preferredCurrency: "XYZ" } }, from());
    expect((res.errors?.[0]?.extensions?.fields as { field: string }[]).map((f) => f.field)).toEqual(["input.email", "input.locale", "input.timezone", "input.preferredCurrency"]);
  });

  it("SECURITY 63: counts every alias against the per-IP limit (5 per hour)", async () => {
    const emails = Array.from({ length: 6 }, newEmail);
    const aliases = emails.map((email, i) => `r${i}: register(input: { email: "${email}", password: "${PASSWORD}" }) { status }`).join(" ");
    const res = await graphql(h.t.baseUrl, `mutation { ${aliases} }`, undefined, from());
    expect(await h.t.app.platform.database.prisma.user.count({ where: { email: { in: emails } } })).toBe(5);
    expect(res.errors).toHaveLength(1);
    expect(res.errors?.[0]?.path).toEqual(["r5"]);
    expect(res.errors?.[0]?.extensions).toMatchObject({ code: "RATE_LIMITED", retryAfter: expect.any(Number) });
  });
});

describe("verifyEmail", () => {
  async function registered(): Promise<{ email: string; token: string }> {
    const email = newEmail();
    await graphql(h.t.baseUrl, RegisterDocument, { input: { email, password: PASSWORD } }, from());
    return { email, token: (await mailTo(email, "verify-email")).params.token as string };
  }

  it("activates the account once; the token then stops working", async () => {
    const { email, token } = await registered();
    const res = await graphql(h.t.baseUrl, VerifyEmailDocument, { token });
    expect(res.data?.verifyEmail).toEqual({ id: expect.any(String), email, emailVerified: true, status: "ACTIVE" });
    const again = await graphql(h.t.baseUrl, VerifyEmailDocument, { token });
    expect(again.errors?.[0]?.extensions).toMatchObject({ code: "BAD_USER_INPUT", fields: [{ field: "token", message: "is invalid or has expired" }] });
    await waitUntil("user.email_verified", async () => (await h.queues.jobs("user-events")).find((j) => j.name === "user.email_verified" && (j.data as { data: { email: string } }).data.email === email));
  });

  it("refuses an expired token and stores only token hashes", async () => {
    const { token } = await registered();
    const prisma = h.t.app.platform.database.prisma;
    expect(await prisma.singleUseToken.count({ where: { purpose: "email-verification", tokenHash: token } })).toBe(0);
    await prisma.singleUseToken.updateMany({ where: { purpose: "email-verification", usedAt: null }, data: { expiresAt: new Date(Date.now() - 1000) } });
    expect((await graphql(h.t.baseUrl, VerifyEmailDocument, { token })).errors?.[0]?.extensions?.code).toBe("BAD_USER_INPUT");
  });

  it("SECURITY 45: refuses two verifyEmail in one operation", async () => {
    const res = await graphql(h.t.baseUrl, `mutation { a: verifyEmail(token: "x") { id } b: verifyEmail(token: "y") { id } }`);
    expect(res.status).toBe(400);
    expect(res.errors?.[0]?.message).toBe("At most one of completeMfaLogin, linkTradingAccount, login, refreshTokens, renewTradingAccountSession, resetPassword, rotateTradingAccountCredentials, stepUp, verifyEmail per operation");
  });

  it("hides private fields from everyone but the user", async () => {
    const { email, token } = await registered();
    const verified = await graphql(h.t.baseUrl, VerifyEmailDocument, { token });
    const id = verified.data?.verifyEmail.id as string;
    const res = await graphql(h.t.baseUrl, `{ user(id: "${id}") { id email emailVerified status } }`);
    expect(res.data).toEqual({ user: { id, email: null, emailVerified: null, status: null } });
    expect(email).toContain("@");
  });
});

describe("resendVerificationEmail", () => {
  it("answers true for an unknown address and sends a new link to a pending account", async () => {
    expect((await graphql(h.t.baseUrl, ResendVerificationEmailDocument, { email: newEmail() }, from())).data).toEqual({ resendVerificationEmail: true });
    const email = newEmail();
    await graphql(h.t.baseUrl, RegisterDocument, { input: { email, password: PASSWORD } }, from());
    expect((await graphql(h.t.baseUrl, ResendVerificationEmailDocument, { email }, from())).data).toEqual({ resendVerificationEmail: true });
    await waitUntil("two verification links", async () => (await h.queues.jobs("notifications")).filter((j) => j.name === "verify-email" && (j.data as { to: string }).to === email).length === 2);
  });

  it("issue 10 item 10: spellings the database takes for one address (İ and i under citext) share its limit of 3 an hour", async () => {
    const codes = [];
    for (const email of citextSpellings()) codes.push((await graphql(h.t.baseUrl, ResendVerificationEmailDocument, { email }, from())).errors?.[0]?.extensions?.code ?? "ok");
    expect(codes).toEqual(["ok", "ok", "ok", "RATE_LIMITED"]);
  });
});
