import {
  ChangePasswordDocument,
  LoginDocument,
  LogoutDocument,
  MeDocument,
  RefreshTokensDocument,
  RegisterDocument,
  RequestPasswordResetDocument,
  ResetPasswordDocument,
  RevokeSessionDocument,
  UserEntitiesDocument,
  VerifyEmailDocument,
} from "../support/generated/operations";
import { PASSWORD, fromNewIp, newEmail } from "../support/accounts";
import { startTestApp, type TestApp } from "../support/app";
import { graphql, type GraphQLResponse } from "../support/graphql";
import { waitUntil } from "../support/wait";
import { SessionsService } from "../../src/modules/sessions/sessions.service";
import { activeAccountGate } from "../../src/modules/sessions/seams";
import type { AuthPayload } from "../../src/modules/sessions/session.types";
import { SessionRevocations } from "../../src/modules/sessions/revocations";
import { BackgroundTasks } from "../../src/platform/background-tasks";
import { systemClock } from "../../src/platform/clock";
import { PasswordHasher } from "../../src/platform/crypto/passwords";
import { UnitOfWork, type Origin, type WorkScope } from "../../src/platform/events/unit-of-work";
import { AccessTokens } from "../../src/platform/jwt/access-tokens";
import { KeyStore } from "../../src/platform/jwt/keys";
import { createKeyVault } from "../../src/platform/crypto/create-vault";
import { createLogger } from "../../src/platform/logging/logger";
import { createMemoryPubSub } from "../../src/platform/pubsub/pubsub";
import { MemoryRateLimitStore } from "../../src/platform/ratelimit/store";

// The relay is off: every notification stays in its outbox row with its parameters, where the tests
// read the links of the mails, and nothing else marks ended sessions in Redis behind a test's back.
let t: TestApp;
let tokens: AccessTokens;
beforeAll(async () => {
  t = await startTestApp({ BCRYPT_COST: "4", OUTBOX_RELAY: "false", PUBLIC_URL: "https://id.example.test", TRUSTED_PROXIES: "127.0.0.1" });
  const { config } = t.app;
  const keys = new KeyStore(t.app.platform.database.prisma, createKeyVault(config), config.JWT_ALGORITHM, config.ACCESS_TOKEN_TTL_S * 1000, systemClock, config.JWT_KEYS_RELOAD_S * 1000);
  await keys.init();
  tokens = new AccessTokens(keys, { issuer: config.PUBLIC_URL, audience: config.JWT_AUDIENCE, ttlSeconds: config.ACCESS_TOKEN_TTL_S }, systemClock);
});
afterAll(() => t.stop());

const prisma = () => t.app.platform.database.prisma;
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

/** The parameters of the latest `template` mail to `email`, from its outbox row. */
async function mail(email: string, template: string): Promise<Record<string, string>> {
  const row = await waitUntil(`${template} to ${email}`, () =>
    prisma().outboxEvent.findFirst({ where: { destination: "notifications", name: template, aggregateId: email.toLowerCase() }, orderBy: { seq: "desc" } }),
  );
  return (row.payload as { params: Record<string, string> }).params;
}

/** A verified account; returns its email. */
async function account(): Promise<string> {
  const email = newEmail();
  await graphql(t.baseUrl, RegisterDocument, { input: { email, password: PASSWORD } }, fromNewIp());
  await graphql(t.baseUrl, VerifyEmailDocument, { token: (await mail(email, "verify-email")).token as string });
  return email;
}

async function login(email: string, device: { deviceFingerprint?: string } = {}, headers: Record<string, string> = fromNewIp()) {
  const res = await graphql(t.baseUrl, LoginDocument, { input: { email, password: PASSWORD, ...device } }, headers);
  const payload = res.data?.login;
  if (payload?.__typename !== "AuthPayload") throw new Error(`login failed: ${JSON.stringify(res.errors)}`);
  return payload;
}

const codeOf = (res: GraphQLResponse<unknown>) => res.errors?.[0]?.extensions?.code;

describe("issue 10 item 3: a login racing a reset, a password change or a logout from every device", () => {
  function gate() {
    let open!: () => void;
    const opened = new Promise<void>((resolve) => {
      open = resolve;
    });
    return { open, opened };
  }

  /** bcrypt that, its comparison done, holds the login until released: the login is between its password check and its session. */
  class HeldHasher extends PasswordHasher {
    readonly reached = gate();
    readonly release = gate();
    override async verify(password: string, hash: string | null | undefined): Promise<boolean> {
      const matches = await super.verify(password, hash);
      this.reached.open();
      await this.release.opened;
      return matches;
    }
  }

  /** A unit of work that, its work done, holds its transaction open until released: the session is written, not committed. */
  class HeldUnitOfWork extends UnitOfWork {
    readonly reached = gate();
    readonly release = gate();
    override run<T>(origin: Origin, work: (scope: WorkScope) => Promise<T>): Promise<T> {
      return super.run(origin, async (scope) => {
        const value = await work(scope);
        this.reached.open();
        await this.release.opened;
        return value;
      });
    }
  }

  /** The app's login, built from the app's own parts except those a test holds. */
  function sessionsService(parts: { hasher: PasswordHasher; unitOfWork?: UnitOfWork }): SessionsService {
    const { config, platform } = t.app;
    const logger = createLogger({ level: "silent" });
    const revocations = new SessionRevocations({ prisma: prisma(), redis: null, pubSub: createMemoryPubSub(), clock: systemClock, logger, prefix: "unused:", ttlSeconds: config.ACCESS_TOKEN_TTL_S });
    const settings = { refreshIdleMs: 3_600_000, sessionMs: 3_600_000, rememberMeSessionMs: 3_600_000, refreshPerMinute: 10, reuseGraceMs: 10_000, loginsPerAddress: 100 };
    const deps = { prisma: prisma(), unitOfWork: parts.unitOfWork ?? platform.events.unitOfWork, hasher: parts.hasher, tokens, revocations, rateLimits: new MemoryRateLimitStore(), clock: systemClock, background: new BackgroundTasks(logger), gates: [activeAccountGate], claims: t.app.modules.users.api.claims };
    return new SessionsService(deps, settings);
  }

  const origin = (): Origin => ({ actor: { type: "anonymous", id: null }, ipAddress: fromNewIp()["x-forwarded-for"], userAgent: "jest" });

  /** Each trigger is prepared first (a reset link asked for), then fired; `keeps` is the session it leaves alive. */
  const TRIGGERS: [string, (email: string, own: { accessToken: string }) => Promise<() => Promise<GraphQLResponse<unknown>>>, "own" | "none"][] = [
    [
      "a password reset",
      async (email) => {
        await graphql(t.baseUrl, RequestPasswordResetDocument, { email }, fromNewIp());
        const { token } = await mail(email, "password-reset");
        return () => graphql(t.baseUrl, ResetPasswordDocument, { input: { token: token as string, newPassword: "Reset-Pass-2024!" } });
      },
      "none",
    ],
    [
      "a password change signing out the other sessions",
      async (_email, own) => async () =>
        graphql(t.baseUrl, ChangePasswordDocument, { input: { currentPassword: PASSWORD, newPassword: "Brand-New-Pass-9#", signOutOtherSessions: true } }, bearer(own.accessToken)),
      "own",
    ],
    ["a logout from every device", async (_email, own) => async () => graphql(t.baseUrl, LogoutDocument, { allDevices: true }, bearer(own.accessToken)), "none"],
  ];

  async function liveSessions(email: string): Promise<string[]> {
    const rows = await prisma().session.findMany({ where: { user: { email }, revokedAt: null }, select: { id: true } });
    return rows.map((row) => row.id);
  }

  it.each(TRIGGERS)("SECURITY 21: a login whose password check is in flight during %s gets no session", async (_name, prepare, keeps) => {
    const email = await account();
    const own = await login(email);
    const fire = await prepare(email, own);
    const hasher = new HeldHasher(4, 1);
    try {
      const pending = sessionsService({ hasher }).login({ email, password: PASSWORD }, origin());
      await hasher.reached.opened;
      expect((await fire()).errors).toBeUndefined();
      hasher.release.open();
      await expect(pending).rejects.toMatchObject({ code: "UNAUTHENTICATED", message: "Invalid email or password" });
      expect(await liveSessions(email)).toEqual(keeps === "own" ? [own.session.id] : []);
    } finally {
      await hasher.close();
    }
  });

  it.each(TRIGGERS)("SECURITY 21: %s committing after a login has written its session waits for it, then ends it", async (_name, prepare, keeps) => {
    const email = await account();
    const own = await login(email);
    const fire = await prepare(email, own);
    const hasher = new PasswordHasher(4, 1);
    const unitOfWork = new HeldUnitOfWork(prisma(), t.app.platform.events.handlers, systemClock, () => undefined);
    try {
      const pending = sessionsService({ hasher, unitOfWork }).login({ email, password: PASSWORD }, origin());
      await unitOfWork.reached.opened;
      let settled = false;
      const trigger = fire().finally(() => {
        settled = true;
      });
      // Either the trigger waits on the login's lock of the user (the property) or it finishes without waiting.
      const lockWaits = async () => (await prisma().$queryRaw<{ n: number }[]>`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`)[0]?.n;
      await waitUntil("the trigger to wait for the login or to finish", async () => settled || (await lockWaits()));
      unitOfWork.release.open();
      const raced = (await pending) as AuthPayload;
      expect((await trigger).errors).toBeUndefined();
      expect(codeOf(await graphql(t.baseUrl, RefreshTokensDocument, { refreshToken: raced.refreshToken }))).toBe("UNAUTHENTICATED");
      expect(codeOf(await graphql(t.baseUrl, MeDocument, undefined, bearer(raced.accessToken)))).toBe("UNAUTHENTICATED");
      expect(await liveSessions(email)).toEqual(keeps === "own" ? [own.session.id] : []);
    } finally {
      await hasher.close();
    }
  });
});

describe("issue 10 item 7: new-device-login without a device fingerprint", () => {
  it("a login without a fingerprint, or with an empty one, is a new device unless the same user agent logged in from the same address before", async () => {
    const email = await account();
    const alerts = () => prisma().outboxEvent.count({ where: { destination: "notifications", name: "new-device-login", aggregateId: email.toLowerCase() } });
    const phone = { ...fromNewIp(), "user-agent": "Phone/1.0" };
    await login(email, {}, phone);
    expect(await alerts()).toBe(1);
    await login(email, { deviceFingerprint: "" }, { ...phone, ...fromNewIp() });
    expect(await alerts()).toBe(2);
    await login(email, {}, { ...phone, "user-agent": "Laptop/2.0" });
    expect(await alerts()).toBe(3);
    // The same user agent from the same address again: a device already seen.
    await login(email, { deviceFingerprint: "  " }, phone);
    expect(await alerts()).toBe(3);
    // A fingerprint, when given, decides: unseen, then seen from anywhere.
    await login(email, { deviceFingerprint: "fp-9" }, phone);
    expect(await alerts()).toBe(4);
    await login(email, { deviceFingerprint: "fp-9" }, fromNewIp());
    expect(await alerts()).toBe(4);
  });
});

describe("issue 10 item 8: one ID rule for every operation taking an id", () => {
  it("revoking a session by its id in capitals ends its tokens at once", async () => {
    const email = await account();
    const phone = await login(email);
    const laptop = await login(email);
    const res = await graphql(t.baseUrl, RevokeSessionDocument, { id: phone.session.id.toUpperCase() }, bearer(laptop.accessToken));
    expect(res.data).toEqual({ revokeSession: true });
    expect(codeOf(await graphql(t.baseUrl, MeDocument, undefined, bearer(phone.accessToken)))).toBe("UNAUTHENTICATED");
    expect(codeOf(await graphql(t.baseUrl, RefreshTokensDocument, { refreshToken: phone.refreshToken }))).toBe("UNAUTHENTICATED");
    expect((await graphql(t.baseUrl, MeDocument, undefined, bearer(laptop.accessToken))).data?.me?.email).toBe(email);
  });

  it("a UUID in any case names the same thing and is answered in lowercase; anything else is BAD_USER_INPUT naming the argument", async () => {
    const email = await account();
    const auth = await login(email);
    const id = auth.user.id;
    const USER = "query User($id: ID!) { user(id: $id) { id } }";
    expect((await graphql(t.baseUrl, USER, { id: id.toUpperCase() })).data).toEqual({ user: { id } });
    expect((await graphql(t.baseUrl, UserEntitiesDocument, { representations: [{ __typename: "User", id: id.toUpperCase() }] })).data?._entities).toEqual([
      expect.objectContaining({ id }),
    ]);
    for (const res of [await graphql(t.baseUrl, USER, { id: "not-a-uuid" }), await graphql(t.baseUrl, RevokeSessionDocument, { id: "not-a-uuid" }, bearer(auth.accessToken))]) {
      expect(res.errors?.[0]?.extensions).toMatchObject({ code: "BAD_USER_INPUT", fields: [{ field: "id", message: "must be a UUID" }] });
    }
  });
});
