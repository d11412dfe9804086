import { tmpdir } from "node:os";
import path from "node:path";
import { randomInt, randomUUID } from "node:crypto";
import type { TypedDocumentNode } from "@graphql-typed-document-node/core";
import type { DocumentNode } from "graphql";
import type { App } from "../../src/app";
import type { Prisma as PrismaClient } from "../../src/platform/db/database";
import type { Prisma } from "../../src/generated/prisma/client";
import { startTestApp, type TestApp } from "./app";
import { movableClock, type MovableClock } from "./clock";
import { uniqueSuffix } from "./env";
import { LoginDocument, RegisterDocument, VerifyEmailDocument, type LoginInput, type LoginMutation } from "./generated/operations";
import { graphql, type GraphQLResponse } from "./graphql";
import { QueueReader } from "./queues";
import { waitUntil } from "./wait";

export const PASSWORD = "Correct-Horse-42!";

/** Each request from its own client address (through the trusted local proxy): per-IP limits stay out of the way. */
export const fromNewIp = () => ({ "x-forwarded-for": `198.51.${randomInt(256)}.${randomInt(256)}` });
export const newEmail = () => `${randomUUID()}@example.test`;
export const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
/** The code of an answer's first error; undefined when it has none. */
export const codeOf = (res: Pick<GraphQLResponse<unknown>, "errors">) => res.errors?.[0]?.extensions?.code;

/** A new address in four spellings that PostgreSQL's citext takes for one (`İ` folds to `i` there) and JavaScript's toLowerCase does not. */
export function citextSpellings(): string[] {
  const rest = newEmail();
  return ["ii", "İi", "iİ", "İİ"].map((head) => `${head}${rest}`);
}

/** What every module's tests start from: fast bcrypt and relay, links on a fixed PUBLIC_URL, the local proxy trusted. */
export const TEST_ENV: Record<string, string> = {
  BCRYPT_COST: "4",
  OUTBOX_POLL_INTERVAL_MS: "100",
  PUBLIC_URL: "https://id.example.test",
  TRUSTED_PROXIES: "127.0.0.1",
  COUNTRY_HEADER: "cf-ipcountry",
  DOCUMENT_STORAGE_DIR: path.join(tmpdir(), "identity-test-documents"),
};

export type AuthPayload = Extract<LoginMutation["login"], { __typename: "AuthPayload" }>;
export interface VerifiedUser {
  email: string;
  password: string;
}
/** A verified user with a session: the login's payload, and the header that presents its access token. */
export type SignedIn = VerifiedUser & AuthPayload & { headers: Record<string, string> };

export interface Harness {
  t: TestApp;
  /** The app's clock: `clock.offsetMs` moves it; it is back at 0 before each test. */
  clock: MovableClock;
  prisma: PrismaClient;
  /** The accounts module's services, for service tests that need no HTTP. */
  services: App["modules"]["accounts"]["api"];
  /** What reached the BullMQ queues (`notifications`, `user-events`). */
  queues: QueueReader;
  /** A typed GraphQL operation over HTTP (the codegen documents in ./generated/operations). */
  gql<TResult, TVariables>(document: TypedDocumentNode<TResult, TVariables> | DocumentNode | string, variables?: TVariables, headers?: Record<string, string>): Promise<GraphQLResponse<TResult>>;
  /**
   * The latest notification `template` sent to `email`, once written: from the queue (newest job
   * first) when the relay runs, the delivered outbox row keeping no parameter values; from its outbox
   * row when the relay is off.
   */
  mailTo(email: string, template: string): Promise<{ params: Record<string, string> }>;
  /** The audit rows matching `where`, oldest first. */
  audit(where?: Prisma.AuditEventWhereInput): ReturnType<PrismaClient["auditEvent"]["findMany"]>;
  /** The audit rows matching `where` once there are at least `count` (records written in the background). */
  auditedAtLeast(count: number, where: Prisma.AuditEventWhereInput): Promise<Awaited<ReturnType<Harness["audit"]>>>;
  /** Registers `email` (a new one unless given) and verifies it with the mailed link. */
  verifiedUser(user?: Partial<VerifiedUser>): Promise<VerifiedUser>;
  /** Logs in with the password (from a new address unless `headers` are given); null when the login is refused. */
  login(email: string, password?: string, input?: Partial<LoginInput>, headers?: Record<string, string>): Promise<AuthPayload | null>;
  /** `user` (a new verified user unless given) signed in (from a new address unless `headers` are given). */
  signedIn(user?: VerifiedUser, input?: Partial<LoginInput>, headers?: Record<string, string>): Promise<SignedIn>;
  /** A new signed-in user holding `role` (given as the roles command line would), with a token that says so. */
  withRole(role: string): Promise<SignedIn>;
  /**
   * A second instance of the service on this app's database, queues, Redis prefix and clock (its
   * relay off), with `env` over it; stop it with `app.stop()`, which leaves the database to this app.
   */
  anotherInstance(env?: Record<string, string>): Promise<TestApp>;
}

export interface HarnessOptions {
  /** The app's clock; a movable clock of the harness's own unless given. */
  clock?: MovableClock;
  /** false: no port is opened (service tests); `gql` and the actors need it. */
  http?: boolean;
}

/**
 * Registers beforeAll/afterAll for one app of this test file (on its own database cloned from the
 * migrated template, its own Redis and queue prefixes) started with `TEST_ENV` and `env` over it.
 * `env` may be a function, called as the app starts: for values an earlier beforeAll makes (the
 * URL of a fake the app calls).
 */
export function useApp(env: Record<string, string> | (() => Record<string, string>) = {}, options: HarnessOptions = {}): Harness {
  const clock = options.clock ?? movableClock();
  const prefix = `test-${uniqueSuffix()}`;
  const h = { clock } as Harness;
  beforeAll(async () => {
    h.t = await startTestApp({ ...TEST_ENV, QUEUE_PREFIX: prefix, ...(typeof env === "function" ? env() : env) }, clock, { listen: options.http ?? true });
    h.prisma = h.t.app.platform.database.prisma;
    h.services = h.t.app.modules.accounts.api;
    h.queues = new QueueReader(h.t.app.config.QUEUE_PREFIX);
  });
  afterAll(async () => {
    await h.queues?.close();
    await h.t?.stop();
  });
  beforeEach(() => {
    clock.offsetMs = 0;
  });
  h.gql = (document, variables, headers) => graphql(h.t.baseUrl, document, variables, headers);
  h.mailTo = (email, template) =>
    h.t.app.config.OUTBOX_RELAY
      ? waitUntil(`${template} to ${email}`, async () =>
          (await h.queues.jobs("notifications")).find((j) => j.name === template && (j.data as { to: string }).to === email)?.data as { params: Record<string, string> } | undefined,
        )
      : waitUntil(`${template} to ${email}`, async () =>
          (await h.prisma.outboxEvent.findFirst({ where: { destination: "notifications", name: template, aggregateId: email.toLowerCase() }, orderBy: { seq: "desc" } }))?.payload as
            | { params: Record<string, string> }
            | undefined,
        );
  h.audit = (where = {}) => h.prisma.auditEvent.findMany({ where, orderBy: { id: "asc" } });
  h.auditedAtLeast = (count, where) =>
    waitUntil(`${count} audit records`, async () => {
      const rows = await h.audit(where);
      return rows.length >= count ? rows : null;
    });
  h.verifiedUser = async ({ email = newEmail(), password = PASSWORD } = {}) => {
    await h.gql(RegisterDocument, { input: { email, password } }, fromNewIp());
    await h.gql(VerifyEmailDocument, { token: (await h.mailTo(email, "verify-email")).params.token as string });
    return { email, password };
  };
  h.login = async (email, password = PASSWORD, input = {}, headers = fromNewIp()) => {
    const res = await h.gql(LoginDocument, { input: { email, password, ...input } }, headers);
    return res.data?.login.__typename === "AuthPayload" ? res.data.login : null;
  };
  h.signedIn = async (user, input, headers) => {
    const { email, password } = user ?? (await h.verifiedUser());
    const payload = await h.login(email, password, input, headers);
    if (!payload) throw new Error(`login failed for ${email}`);
    return { email, password, ...payload, headers: bearer(payload.accessToken) };
  };
  h.withRole = async (role) => {
    const user = await h.signedIn();
    await h.t.app.modules.authz.api.changeRole(user.user.id, role, "assign");
    return h.signedIn(user);
  };
  h.anotherInstance = (extra = {}) =>
    startTestApp({ ...TEST_ENV, OUTBOX_RELAY: "false", DATABASE_URL: h.t.databaseUrl, QUEUE_PREFIX: h.t.app.config.QUEUE_PREFIX, ...extra }, clock, { redisPrefix: h.t.redisPrefix });
  return h;
}
