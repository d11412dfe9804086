import {
  ChangePasswordDocument,
  LogoutDocument,
  MeDocument,
  RefreshTokensDocument,
  RequestPasswordResetDocument,
  ResetPasswordDocument,
  RevokeSessionDocument,
  UserEntitiesDocument,
} from "../support/generated/operations";
import { PASSWORD, bearer, codeOf, fromNewIp, useApp } from "../support/harness";
import type { GraphQLResponse } from "../support/graphql";
import { waitUntil } from "../support/wait";
import { SessionsService } from "../../src/modules/sessions/sessions.service";
import { activeAccountGate } from "../../src/modules/sessions/seams";
import type { AuthPayload } from "../../src/modules/sessions/session.types";
import { SessionRevocations } from "../../src/modules/sessions/revocations";
import { BackgroundTasks } from "../../src/platform/background-tasks";
import { systemClock } from "../../src/platform/clock";
import { PasswordHasher } from "../../src/platform/crypto/passwords";
import { UnitOfWork, type Origin, type WorkEffects } from "../../src/platform/events/unit-of-work";
import { AccessTokens } from "../../src/platform/jwt/access-tokens";
import { KeyStore } from "../../src/platform/jwt/keys";
import { createKeyVault } from "../../src/platform/crypto/create-vault";
import { createLogger } from "../../src/platform/logging/logger";
import { createMemoryPubSub } from "../../src/platform/pubsub/pubsub";
import { MemoryRateLimitStore } from "../../src/platform/ratelimit/store";

// The relay is off: every notification stays in its outbox row with its parameters, where the tests
// read the links of the mails, and nothing else marks ended sessions in Redis behind a test's back.
const h = useApp({ OUTBOX_RELAY: "false" });
let tokens: AccessTokens;
beforeAll(async () => {
  const { config } = h.t.app;
  const keys = new KeyStore(h.prisma, createKeyVault(config), config.JWT_ALGORITHM, config.ACCESS_TOKEN_TTL_S * 1000, systemClock, config.JWT_KEYS_RELOAD_S * 1000);
  await keys.init();
  tokens = new AccessTokens(keys, { issuer: config.PUBLIC_URL, audience: config.JWT_AUDIENCE, ttlSeconds: config.ACCESS_TOKEN_TTL_S }, systemClock);
});
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
    override runSql<T>(origin: Origin, work: (scope: WorkEffects) => Promise<T>): Promise<T> {
      return super.runSql(origin, async (scope) => {
        const value = await work(scope);
        this.reached.open();
        await this.release.opened;
        return value;
      });
    }
  }

  /** The app's login, built from the app's own parts except those a test holds. */
  function sessionsService(parts: { hasher: PasswordHasher; unitOfWork?: UnitOfWork }): SessionsService {
    const { config, platform } = h.t.app;
    const logger = createLogger({ level: "silent" });
    const revocations = new SessionRevocations({ prisma: h.prisma, redis: null, pubSub: createMemoryPubSub(), clock: systemClock, logger, prefix: "unused:", ttlSeconds: config.ACCESS_TOKEN_TTL_S });
    const settings = { refreshIdleMs: 3_600_000, sessionMs: 3_600_000, rememberMeSessionMs: 3_600_000, refreshPerMinute: 10, reuseGraceMs: 10_000, loginsPerAddress: 100 };
    const deps = { prisma: h.prisma, sql: h.t.app.platform.database.sql, unitOfWork: parts.unitOfWork ?? platform.events.unitOfWork, hasher: parts.hasher, tokens, revocations, rateLimits: new MemoryRateLimitStore(), clock: systemClock, background: new BackgroundTasks(logger), gates: [activeAccountGate], claims: h.t.app.modules.authz.api.claims };
    return new SessionsService(deps, settings);
  }

  const origin = (): Origin => ({ actor: { type: "anonymous", id: null }, ipAddress: fromNewIp()["x-forwarded-for"], userAgent: "jest" });

  /** Each trigger is prepared first (a reset link asked for), then fired; `keeps` is the session it leaves alive. */
  const TRIGGERS: [string, (email: string, own: { accessToken: string }) => Promise<() => Promise<GraphQLResponse<unknown>>>, "own" | "none"][] = [
    [
      "a password reset",
      async (email) => {
        await h.gql(RequestPasswordResetDocument, { email }, fromNewIp());
        const { token } = (await h.mailTo(email, "password-reset")).params;
        return () => h.gql(ResetPasswordDocument, { input: { token: token as string, newPassword: "Reset-Pass-2024!" } });
      },
      "none",
    ],
    [
      "a password change signing out the other sessions",
      async (_email, own) => async () =>
        h.gql(ChangePasswordDocument, { input: { currentPassword: PASSWORD, newPassword: "Brand-New-Pass-9#", signOutOtherSessions: true } }, bearer(own.accessToken)),
      "own",
    ],
    ["a logout from every device", async (_email, own) => async () => h.gql(LogoutDocument, { allDevices: true }, bearer(own.accessToken)), "none"],
  ];

  async function liveSessions(email: string): Promise<string[]> {
    const rows = await h.prisma.session.findMany({ where: { user: { email }, revokedAt: null }, select: { id: true } });
    return rows.map((row) => row.id);
  }

  it.each(TRIGGERS)("SECURITY 21: a login whose password check is in flight during %s gets no session", async (_name, prepare, keeps) => {
    const own = await h.signedIn();
    const { email } = own;
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
    const own = await h.signedIn();
    const { email } = own;
    const fire = await prepare(email, own);
    const hasher = new PasswordHasher(4, 1);
    const unitOfWork = new HeldUnitOfWork(h.prisma, h.t.app.platform.database.sql, h.t.app.platform.events.handlers, systemClock, () => undefined);
    try {
      const pending = sessionsService({ hasher, unitOfWork }).login({ email, password: PASSWORD }, origin());
      await unitOfWork.reached.opened;
      let settled = false;
      const trigger = fire().finally(() => {
        settled = true;
      });
      // Either the trigger waits on the login's lock of the user (the property) or it finishes without waiting.
      const lockWaits = async () => (await h.prisma.$queryRaw<{ n: number }[]>`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`)[0]?.n;
      await waitUntil("the trigger to wait for the login or to finish", async () => settled || (await lockWaits()));
      unitOfWork.release.open();
      const raced = (await pending) as AuthPayload;
      expect((await trigger).errors).toBeUndefined();
      expect(codeOf(await h.gql(RefreshTokensDocument, { refreshToken: raced.refreshToken }))).toBe("UNAUTHENTICATED");
      expect(codeOf(await h.gql(MeDocument, undefined, bearer(raced.accessToken)))).toBe("UNAUTHENTICATED");
      expect(await liveSessions(email)).toEqual(keeps === "own" ? [own.session.id] : []);
    } finally {
      await hasher.close();
    }
  });
});

describe("issue 10 item 7: new-device-login without a device fingerprint", () => {
  it("a login without a fingerprint, or with an empty one, is a new device unless the same user agent logged in from the same address before", async () => {
    const user = await h.verifiedUser();
    const { email } = user;
    const alerts = () => h.prisma.outboxEvent.count({ where: { destination: "notifications", name: "new-device-login", aggregateId: email.toLowerCase() } });
    const phone = { ...fromNewIp(), "user-agent": "Phone/1.0" };
    await h.signedIn(user, {}, phone);
    expect(await alerts()).toBe(1);
    await h.signedIn(user, { deviceFingerprint: "" }, { ...phone, ...fromNewIp() });
    expect(await alerts()).toBe(2);
    await h.signedIn(user, {}, { ...phone, "user-agent": "Laptop/2.0" });
    expect(await alerts()).toBe(3);
    // The same user agent from the same address again: a device already seen.
    await h.signedIn(user, { deviceFingerprint: "  " }, phone);
    expect(await alerts()).toBe(3);
    // A fingerprint, when given, decides: unseen, then seen from anywhere.
    await h.signedIn(user, { deviceFingerprint: "fp-9" }, phone);
    expect(await alerts()).toBe(4);
    await h.signedIn(user, { deviceFingerprint: "fp-9" }, fromNewIp());
    expect(await alerts()).toBe(4);
  });
});

describe("issue 10 item 8: one ID rule for every operation taking an id", () => {
  it("revoking a session by its id in capitals ends its tokens at once", async () => {
    const user = await h.verifiedUser();
    const { email } = user;
    const phone = await h.signedIn(user);
    const laptop = await h.signedIn(user);
    const res = await h.gql(RevokeSessionDocument, { id: phone.session.id.toUpperCase() }, bearer(laptop.accessToken));
    expect(res.data).toEqual({ revokeSession: true });
    expect(codeOf(await h.gql(MeDocument, undefined, bearer(phone.accessToken)))).toBe("UNAUTHENTICATED");
    expect(codeOf(await h.gql(RefreshTokensDocument, { refreshToken: phone.refreshToken }))).toBe("UNAUTHENTICATED");
    expect((await h.gql(MeDocument, undefined, bearer(laptop.accessToken))).data?.me?.email).toBe(email);
  });

  it("a UUID in any case names the same thing and is answered in lowercase; anything else is BAD_USER_INPUT naming the argument", async () => {
    const auth = await h.signedIn();
    const id = auth.user.id;
    const USER = "query User($id: ID!) { user(id: $id) { id } }";
    expect((await h.gql(USER, { id: id.toUpperCase() })).data).toEqual({ user: { id } });
    expect((await h.gql(UserEntitiesDocument, { representations: [{ __typename: "User", id: id.toUpperCase() }] })).data?._entities).toEqual([
      expect.objectContaining({ id }),
    ]);
    for (const res of [await h.gql(USER, { id: "not-a-uuid" }), await h.gql(RevokeSessionDocument, { id: "not-a-uuid" }, bearer(auth.accessToken))]) {
      expect(res.errors?.[0]?.extensions).toMatchObject({ code: "BAD_USER_INPUT", fields: [{ field: "id", message: "must be a UUID" }] });
    }
  });
});
