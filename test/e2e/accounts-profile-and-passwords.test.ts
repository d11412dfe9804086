import {
  ChangePasswordDocument,
  MeDocument,
  MyAuditEventsDocument,
  RefreshTokensDocument,
  RequestPasswordResetDocument,
  ResetPasswordDocument,
  UpdateProfileDocument,
} from "../support/generated/operations";
import { PASSWORD, bearer, citextSpellings, fromNewIp, newEmail, useApp } from "../support/harness";
import { graphql } from "../support/graphql";
import { waitUntil } from "../support/wait";

const h = useApp();
const login = (email: string, password?: string) => h.login(email, password);

describe("updateProfile", () => {
  it("changes the caller's profile, canonicalises values and publishes user.updated with the field names", async () => {
    const auth = await h.signedIn();
    const res = await graphql(h.t.baseUrl, UpdateProfileDocument, { input: { name: "Ada L.", phone: "+14155550123", locale: "en-gb", timezone: "Europe/London", preferredCurrency: "gbp", avatarUrl: "https://cdn.example.test/a.png" } }, bearer(auth.accessToken));
    expect(res.data?.updateProfile).toMatchObject({ name: "Ada L.", displayName: "Ada L.", phone: "+14155550123", locale: "en-GB", timezone: "Europe/London", preferredCurrency: "GBP", avatarUrl: "https://cdn.example.test/a.png" });
    const event = await waitUntil("user.updated", async () => (await h.queues.jobs("user-events")).find((j) => j.name === "user.updated" && (j.data as { aggregateId: string }).aggregateId === auth.user.id));
    expect((event.data as { data: unknown }).data).toEqual({ fields: ["name", "avatarUrl", "phone", "locale", "timezone", "preferredCurrency"] });
  });

  it("names every bad field and writes nothing", async () => {
    const auth = await h.signedIn();
    const { email } = auth;
    const res = await graphql(h.t.baseUrl, UpdateProfileDocument, { input: { name: "Fine", phone: "0123", avatarUrl: "http://insecure.test/a.png", timezone: "Nowhere/Land", preferredCurrency: "EURO" } }, bearer(auth.accessToken));
    expect(res.errors?.[0]?.extensions?.fields).toEqual([
      { field: "input.avatarUrl", message: "must be an https:// URL of at most 2048 characters" },
      { field: "input.phone", message: "must be an E.164 phone number such as +14155550123" },
      { field: "input.timezone", message: "must be an IANA time zone such as Europe/Paris" },
      { field: "input.preferredCurrency", message: "must be an ISO 4217 currency code such as USD" },
    ]);
    expect((await h.t.app.platform.database.prisma.user.findUniqueOrThrow({ where: { email } })).name).toBeNull();
  });

  it("SECURITY 40: cannot set fields outside the input (role) and needs a signed-in caller", async () => {
    const res = await graphql(h.t.baseUrl, `mutation { updateProfile(input: { role: ADMIN }) { id } }`);
    expect(res.status).toBe(400);
    expect((await graphql(h.t.baseUrl, UpdateProfileDocument, { input: { name: "x" } })).errors?.[0]?.extensions?.code).toBe("UNAUTHENTICATED");
  });
});

describe("myAuditEvents", () => {
  it("pages through the caller's own records, newest first, and nobody else's", async () => {
    const auth = await h.signedIn();
    await h.signedIn(); // someone else's records
    const first = await graphql(h.t.baseUrl, MyAuditEventsDocument, { first: 2 }, bearer(auth.accessToken));
    const page1 = first.data?.myAuditEvents;
    expect(page1?.edges.map((e) => e.node.action)).toEqual(["user.login", "user.verify_email"]);
    expect(page1?.pageInfo.hasNextPage).toBe(true);
    const second = await graphql(h.t.baseUrl, MyAuditEventsDocument, { first: 2, after: page1?.pageInfo.endCursor }, bearer(auth.accessToken));
    expect(second.data?.myAuditEvents.edges.map((e) => e.node.action)).toEqual(["user.register"]);
    expect(second.data?.myAuditEvents.pageInfo).toEqual({ hasNextPage: false, endCursor: second.data?.myAuditEvents.edges[0]?.cursor });
    expect((await graphql(h.t.baseUrl, MyAuditEventsDocument, { first: 101 }, bearer(auth.accessToken))).errors?.[0]?.extensions?.fields).toEqual([{ field: "first", message: "must be between 1 and 100" }]);
    expect((await graphql(h.t.baseUrl, MyAuditEventsDocument, { after: "bm9wZQ" }, bearer(auth.accessToken))).errors?.[0]?.extensions?.code).toBe("BAD_USER_INPUT");
    expect((await graphql(h.t.baseUrl, MyAuditEventsDocument, {})).errors?.[0]?.extensions?.code).toBe("UNAUTHENTICATED");
  });

  it("SECURITY 44: first: 99999999 is refused before execution by the cost limit, and beyond 100 as a variable", async () => {
    const auth = await h.signedIn();
    const literal = await graphql(h.t.baseUrl, "query Huge { myAuditEvents(first: 99999999) { edges { node { action } } } }", undefined, bearer(auth.accessToken));
    expect(literal.status).toBe(400);
    expect(literal.errors?.[0]).toMatchObject({ message: expect.stringMatching(/maximum cost is 5000/), extensions: { code: "GRAPHQL_VALIDATION_FAILED" } });
    const variable = await graphql(h.t.baseUrl, MyAuditEventsDocument, { first: 99999999 }, bearer(auth.accessToken));
    expect(variable.errors?.[0]?.extensions).toMatchObject({ code: "BAD_USER_INPUT", fields: [{ field: "first", message: "must be between 1 and 100" }] });
  });
});

describe("changePassword", () => {
  it("SECURITY 4 and 11: a wrong current password is FORBIDDEN and leaves the hash unchanged", async () => {
    const auth = await h.signedIn();
    const { email } = auth;
    const prisma = h.t.app.platform.database.prisma;
    const before = (await prisma.user.findUniqueOrThrow({ where: { email } })).passwordHash;
    for (const currentPassword of ["Wrong-Horse-42!", ""]) {
      const res = await graphql(h.t.baseUrl, ChangePasswordDocument, { input: { currentPassword, newPassword: "Brand-New-Pass-9#" } }, bearer(auth.accessToken));
      expect(res.errors?.[0]?.extensions?.code).toBe("FORBIDDEN");
    }
    expect((await prisma.user.findUniqueOrThrow({ where: { email } })).passwordHash).toBe(before);
  });

  it("SECURITY 5 and 21: sets the new password, ends the other sessions when asked, and tells the user", async () => {
    const { email } = await h.verifiedUser();
    const here = (await login(email))!;
    const there = (await login(email))!;
    const res = await graphql(h.t.baseUrl, ChangePasswordDocument, { input: { currentPassword: PASSWORD, newPassword: "Brand-New-Pass-9#", signOutOtherSessions: true } }, bearer(here.accessToken));
    expect(res.data).toEqual({ changePassword: true });
    expect((await graphql(h.t.baseUrl, MeDocument, undefined, bearer(here.accessToken))).data?.me?.email).toBe(email);
    expect((await graphql(h.t.baseUrl, RefreshTokensDocument, { refreshToken: there.refreshToken })).errors?.[0]?.extensions?.code).toBe("UNAUTHENTICATED");
    expect(await login(email)).toBeNull();
    expect(await login(email, "Brand-New-Pass-9#")).not.toBeNull();
    await h.mailTo(email, "password-changed");
  });

  it("requires a signed-in caller", async () => {
    const res = await graphql(h.t.baseUrl, ChangePasswordDocument, { input: { currentPassword: PASSWORD, newPassword: "Brand-New-Pass-9#" } });
    expect(res.errors?.[0]?.extensions?.code).toBe("UNAUTHENTICATED");
  });
});

describe("password reset", () => {
  it("SECURITY 31: answers true whether or not the account exists, before any lookup; each request is audited", async () => {
    const audited = () => h.audit({ action: "password.reset_request" });
    const before = (await audited()).length;
    const known = await graphql(h.t.baseUrl, RequestPasswordResetDocument, { email: (await h.verifiedUser()).email }, fromNewIp());
    const unknown = await graphql(h.t.baseUrl, RequestPasswordResetDocument, { email: newEmail() }, fromNewIp());
    expect(known.data).toEqual({ requestPasswordReset: true });
    expect({ status: unknown.status, data: unknown.data, errors: unknown.errors }).toEqual({ status: known.status, data: known.data, errors: known.errors });
    const rows = await waitUntil("both requests audited", async () => {
      const after = (await audited()).slice(before);
      return after.length === 2 ? after : undefined;
    });
    // The two ran in the background, in either order.
    expect(rows.map((r) => [r.outcome, r.subjectType, r.metadata]).sort()).toEqual([
      ["failure", null, { reason: "unknown_account" }],
      ["success", "user", {}],
    ]);
  });

  it("SECURITY 5, 32, 33, 34 and 21: a single-use hashed token, a link on PUBLIC_URL whatever the Host, every session ended, no login, a confirmation mail", async () => {
    const { email } = await h.verifiedUser();
    const session = (await login(email))!;
    await graphql(h.t.baseUrl, RequestPasswordResetDocument, { email }, { ...fromNewIp(), "x-forwarded-host": "evil.test" });
    const { params } = await h.mailTo(email, "password-reset");
    expect(params.link).toBe(`https://id.example.test/reset-password?token=${params.token}`);
    const prisma = h.t.app.platform.database.prisma;
    expect(await prisma.singleUseToken.count({ where: { purpose: "password-reset", tokenHash: params.token } })).toBe(0);
    // Nor does the delivered mail's outbox row keep it: parameter names stay, values go.
    const mail = await waitUntil("the mail's outbox row marked delivered", () =>
      prisma.outboxEvent.findFirst({ where: { destination: "notifications", name: "password-reset", aggregateId: email.toLowerCase(), publishedAt: { not: null } } }),
    );
    expect((mail.payload as { params: unknown }).params).toEqual({ token: "[REDACTED]", link: "[REDACTED]" });
    expect(JSON.stringify(await prisma.outboxEvent.findMany({ select: { payload: true } }))).not.toContain(params.token as string);
    const reset = await graphql(h.t.baseUrl, ResetPasswordDocument, { input: { token: params.token as string, newPassword: "Reset-Pass-2024!" } });
    expect(reset.data).toEqual({ resetPassword: true });
    expect(JSON.stringify(reset)).not.toMatch(/accessToken|refreshToken/);
    expect((await graphql(h.t.baseUrl, RefreshTokensDocument, { refreshToken: session.refreshToken })).errors?.[0]?.extensions?.code).toBe("UNAUTHENTICATED");
    expect((await graphql(h.t.baseUrl, MeDocument, undefined, bearer(session.accessToken))).errors?.[0]?.extensions?.code).toBe("UNAUTHENTICATED");
    const again = await graphql(h.t.baseUrl, ResetPasswordDocument, { input: { token: params.token as string, newPassword: "Another-Pass-2024!" } });
    expect(again.errors?.[0]?.extensions).toMatchObject({ code: "BAD_USER_INPUT", fields: [{ field: "input.token", message: "is invalid or has expired" }] });
    expect(await login(email, "Reset-Pass-2024!")).not.toBeNull();
    await h.mailTo(email, "password-changed");
  });

  it("SECURITY 32: refuses an expired token", async () => {
    const { email } = await h.verifiedUser();
    await graphql(h.t.baseUrl, RequestPasswordResetDocument, { email }, fromNewIp());
    const { params } = await h.mailTo(email, "password-reset");
    await h.t.app.platform.database.prisma.singleUseToken.updateMany({ where: { purpose: "password-reset", usedAt: null }, data: { expiresAt: new Date(Date.now() - 1000) } });
    const res = await graphql(h.t.baseUrl, ResetPasswordDocument, { input: { token: params.token as string, newPassword: "Reset-Pass-2024!" } });
    expect(res.errors?.[0]?.extensions?.code).toBe("BAD_USER_INPUT");
  });

  it("SECURITY 34: throttles reset requests per address while login keeps working", async () => {
    const { email } = await h.verifiedUser();
    const codes: unknown[] = [];
    for (let i = 0; i < 6; i += 1) codes.push((await graphql(h.t.baseUrl, RequestPasswordResetDocument, { email }, fromNewIp())).errors?.[0]?.extensions?.code ?? "ok");
    expect(codes).toEqual(["ok", "ok", "ok", "ok", "ok", "RATE_LIMITED"]);
    expect(await login(email)).not.toBeNull();
  });

  it("issue 10 item 10: spellings the database takes for one address (İ and i under citext) share its limit of 5 an hour", async () => {
    const spellings = citextSpellings();
    const codes = [];
    for (let i = 0; i < 6; i += 1) codes.push((await graphql(h.t.baseUrl, RequestPasswordResetDocument, { email: spellings[i % 4] as string }, fromNewIp())).errors?.[0]?.extensions?.code ?? "ok");
    expect(codes).toEqual(["ok", "ok", "ok", "ok", "ok", "RATE_LIMITED"]);
  });
});
