import { randomUUID } from "node:crypto";
import type { ClientCaller, Viewer } from "../../graphql/context";
import type { Clock } from "../../platform/clock";
import type { Prisma, Tx } from "../../platform/db/database";
import type { Origin, UnitOfWork, WorkScope } from "../../platform/events/unit-of-work";
import type { Logger } from "../../platform/logging/logger";
import { BadUserInputError, ForbiddenError, NotFoundError } from "../../shared/errors";
import { emailArgument, idArgument } from "../../shared/input-check";
import { roleOf, type TradingAccountRole } from "./access";
import { BrokerRefusedInput, BrokerSessionEndedError, type Broker, type BrokerProfile, type BrokerSession } from "./broker";
import type { Credentials, CredentialVault } from "./credentials";
import type { LinkTradingAccountInput, RotateTradingAccountCredentialsInput, ShareTradingAccountInput, TradingAccount, TradingAccountSession, TradingAccountStatusName, TradingAccountStatusReport, UpdateTradingAccountInput } from "./trading-accounts.types";

/** The preferences module's part: the caller's default account. */
export interface DefaultAccounts {
  setDefaultTradingAccount(scope: WorkScope, userId: string, accountId: string | null): Promise<void>;
  defaultTradingAccountOf(userIds: readonly string[]): Promise<(string | null)[]>;
}

export interface TradingAccountsDeps {
  prisma: Prisma;
  unitOfWork: UnitOfWork;
  clock: Clock;
  logger: Logger;
  broker: Broker;
  credentials: CredentialVault;
  defaults: DefaultAccounts;
}

type Row = NonNullable<Awaited<ReturnType<Prisma["tradingAccount"]["findUnique"]>>>;
type Member = { userId: string; role: TradingAccountRole };
/** An account with the caller's role and its members, before the GraphQL view. */
export type AccountView = Omit<TradingAccount, "members"> & { members: Member[] };

const SYSTEM: Origin = { actor: { type: "system", id: null } };
const MAX_NICKNAME = 100;
const CREDENTIAL = /^[\x21-\x7e]{1,256}$/;
/** Which roles on an account give which permissions on it (anything not listed: nobody). */
const PERMITTED: Readonly<Record<string, readonly TradingAccountRole[]>> = { "trading:orders:place": ["OWNER", "TRADER"] };
/** What the owner alone may do (SECURITY 38: members get FORBIDDEN, strangers NOT_FOUND). */
const OWNER_ONLY = "Only the account's owner may do this";

/**
 * Linked brokerage accounts: linking (the request token exchanged, the profile read, the
 * credentials sealed), keeping the session alive (verify, renew, the daily expiry), rotation,
 * sharing, and the broker session for order services. A broker call happens before the unit of
 * work that records its outcome, so a failed call stores nothing; a session started for a change
 * that then fails to commit is ended at the broker.
 */
export class TradingAccountsService {
  constructor(private readonly deps: TradingAccountsDeps) {}

  async link(viewer: Viewer, input: LinkTradingAccountInput, origin: Origin): Promise<AccountView> {
    const credentials = checkCredentials(input, "input");
    const nickname = checkNickname(input.nickname, "input.nickname");
    const session = await this.exchange(credentials, "input.");
    const id = randomUUID();
    const now = this.deps.clock.now();
    try {
      const sealed = await this.deps.credentials.sealNew({ id, ownerId: viewer.userId }, { apiKey: credentials.apiKey, apiSecret: credentials.apiSecret, accessToken: session.accessToken });
      await this.deps.unitOfWork.run(origin, async (scope) => {
        const taken = await scope.tx.tradingAccount.findUnique({ where: { broker_brokerUserId: { broker: "KITE", brokerUserId: session.profile.brokerUserId } }, select: { id: true } });
        if (taken) throw BadUserInputError.field("input.requestToken", "this broker account is already linked (by its owner)");
        await scope.tx.tradingAccount.create({
          data: { id, ownerId: viewer.userId, broker: "KITE", brokerUserId: session.profile.brokerUserId, nickname, status: "ACTIVE", ...sealed.columns, profile: snapshot(session.profile) as never, sessionExpiresAt: this.deps.broker.sessionEnd(session.loginTime), lastVerifiedAt: now },
        });
        await scope.tx.tradingAccountKey.create({ data: { accountId: id, keyEnc: sealed.key.ciphertext, wrappedKey: sealed.key.wrappedKey, kekId: sealed.key.kekId } });
        scope.publish("trading_account.linked", id, { accountId: id, broker: "KITE", brokerUserId: session.profile.brokerUserId, ownerId: viewer.userId });
        scope.audit({ action: "trading_account.link", subjectType: "trading_account", subjectId: id, metadata: { broker: "KITE", brokerUserId: session.profile.brokerUserId } });
      });
    } catch (error) {
      // Nothing stored: the session just started must not outlive the failed link.
      await this.endQuietly(credentials.apiKey, session.accessToken);
      if ((error as { code?: string }).code === "P2002") throw BadUserInputError.field("input.requestToken", "this broker account is already linked (by its owner)");
      throw error;
    }
    return this.view(viewer.userId, id);
  }

  async mine(viewer: Viewer): Promise<AccountView[]> {
    const ids = await this.deps.prisma.$queryRaw<{ id: string }[]>`
      SELECT id FROM trading_accounts WHERE owner_id = ${viewer.userId}::uuid
      UNION SELECT account_id FROM trading_account_members WHERE user_id = ${viewer.userId}::uuid`;
    const views = await Promise.all(ids.map(({ id }) => this.view(viewer.userId, id)));
    return views.sort((a, b) => a.brokerUserId.localeCompare(b.brokerUserId));
  }

  async get(viewer: Viewer, rawId: string): Promise<AccountView> {
    const id = idArgument("id", rawId);
    await this.roleOrNotFound(viewer, id);
    return this.view(viewer.userId, id);
  }

  async update(viewer: Viewer, rawId: string, input: UpdateTradingAccountInput, origin: Origin): Promise<AccountView> {
    const id = idArgument("id", rawId);
    const role = await this.roleOrNotFound(viewer, id);
    const renames = input.nickname !== undefined;
    // Renaming is the owner's; making it one's own default is any member's choice.
    if (renames && role !== "OWNER") throw new ForbiddenError(OWNER_ONLY);
    const nickname = renames ? checkNickname(input.nickname, "input.nickname") : undefined;
    await this.deps.unitOfWork.run(origin, async (scope) => {
      if (renames) {
        await scope.tx.tradingAccount.update({ where: { id }, data: { nickname } });
        scope.audit({ action: "trading_account.rename", subjectType: "trading_account", subjectId: id, metadata: { nickname } });
      }
      if (input.isDefault === true) await this.deps.defaults.setDefaultTradingAccount(scope, viewer.userId, id);
      if (input.isDefault === false) {
        const [current] = await this.deps.defaults.defaultTradingAccountOf([viewer.userId]);
        if (current === id) await this.deps.defaults.setDefaultTradingAccount(scope, viewer.userId, null);
      }
    });
    return this.view(viewer.userId, id);
  }

  async unlink(viewer: Viewer, rawId: string, origin: Origin): Promise<boolean> {
    const { row, credentials } = await this.owned(viewer, rawId);
    await this.deps.broker.endSession(credentials.apiKey, credentials.accessToken).catch((error: unknown) => {
      // An ended session is what unlinking wants, and refused credentials open none; an unreachable broker keeps the account as it was.
      if (!(error instanceof BrokerSessionEndedError) && !(error instanceof BrokerRefusedInput)) throw error;
    });
    await this.deps.unitOfWork.run(origin, async (scope) => {
      const members = await scope.tx.tradingAccountMember.count({ where: { accountId: row.id } });
      // The key goes with the row (ON DELETE CASCADE): the credentials are shredded with it.
      await scope.tx.tradingAccount.delete({ where: { id: row.id } });
      scope.publish("trading_account.unlinked", row.id, { ...this.about(row), ownerId: row.ownerId, members });
      scope.audit({ action: "trading_account.unlink", subjectType: "trading_account", subjectId: row.id, metadata: { broker: row.broker, brokerUserId: row.brokerUserId, members } });
    });
    return true;
  }

  /** Reads the profile with the stored session: ACTIVE and a fresh snapshot, or REAUTH_REQUIRED / INVALID_CREDENTIALS. */
  async verify(viewer: Viewer, rawId: string, origin: Origin): Promise<AccountView> {
    const id = idArgument("id", rawId);
    const role = await this.roleOrNotFound(viewer, id);
    if (role === "VIEWER") throw new ForbiddenError("A viewer may not verify the account");
    const row = await this.row(id);
    const credentials = await this.open(row);
    let status: TradingAccountStatusName = "ACTIVE";
    let profile: BrokerProfile | null = null;
    try {
      profile = await this.deps.broker.profile(credentials.apiKey, credentials.accessToken);
      if (profile.brokerUserId !== row.brokerUserId) status = "INVALID_CREDENTIALS";
      // Past its daily end the session is over, whatever the broker still accepts for a while.
      else if (row.sessionExpiresAt <= this.deps.clock.now()) status = "REAUTH_REQUIRED";
    } catch (error) {
      if (error instanceof BrokerSessionEndedError) status = "REAUTH_REQUIRED";
      else if (error instanceof BrokerRefusedInput) status = "INVALID_CREDENTIALS";
      else throw error;
    }
    await this.deps.unitOfWork.run(origin, async (scope) => {
      const now = this.deps.clock.now();
      // Only what was verified: a renewal or rotation committed meanwhile is newer than this answer.
      const written = await scope.tx.tradingAccount.updateMany({ where: { id, accessTokenEnc: row.accessTokenEnc }, data: { status, ...(status === "ACTIVE" ? { lastVerifiedAt: now, profile: snapshot(profile as BrokerProfile) as never } : {}) } });
      if (written.count === 0) return;
      scope.publish("trading_account.verified", id, { ...this.about(row), status });
      if (status === "ACTIVE" && profile && JSON.stringify(snapshot(profile)) !== JSON.stringify(row.profile)) scope.publish("trading_account.profile_synced", id, { ...this.about(row), exchanges: profile.exchanges, products: profile.products });
      if (status === "REAUTH_REQUIRED" && row.status !== "REAUTH_REQUIRED") await this.reauthRequired(scope, row, "broker_ended_session");
      scope.audit({ action: "trading_account.verify", subjectType: "trading_account", subjectId: id, metadata: { status } });
    });
    return this.view(viewer.userId, id);
  }

  /** A new session from a new request token (after the daily expiry), with the stored key and secret. */
  async renew(viewer: Viewer, rawId: string, requestToken: string, origin: Origin): Promise<AccountView> {
    const { row, credentials } = await this.owned(viewer, rawId);
    const token = checkToken(requestToken, "requestToken");
    let session: BrokerSession;
    try {
      session = await this.deps.broker.startSession(credentials.apiKey, credentials.apiSecret, token);
    } catch (error) {
      if (!(error instanceof BrokerRefusedInput) || error.field === "requestToken") throw error instanceof BrokerRefusedInput ? BadUserInputError.field("requestToken", error.problem) : error;
      // The stored key or secret is what the broker refused: the owner must rotate them.
      await this.deps.unitOfWork.run(origin, async (scope) => {
        await scope.tx.tradingAccount.update({ where: { id: row.id }, data: { status: "INVALID_CREDENTIALS" } });
        scope.publish("trading_account.verified", row.id, { ...this.about(row), status: "INVALID_CREDENTIALS" });
        scope.audit({ action: "trading_account.renew", subjectType: "trading_account", subjectId: row.id, outcome: "failure", metadata: { status: "INVALID_CREDENTIALS" } });
      });
      throw BadUserInputError.field("id", "the broker refused the account's stored API key or secret: rotate the credentials");
    }
    if (session.profile.brokerUserId !== row.brokerUserId) {
      await this.endQuietly(credentials.apiKey, session.accessToken);
      throw BadUserInputError.field("requestToken", "the request token is of another broker account than this one");
    }
    await this.settle(credentials.apiKey, session.accessToken, async () => {
      const key = await this.keyOf(row.id);
      const accessTokenEnc = await this.deps.credentials.sealToken(row, key, session.accessToken);
      await this.deps.unitOfWork.run(origin, async (scope) => {
        // Under the key it was sealed with: a rotation committed meanwhile replaced that key.
        const written = await scope.tx.tradingAccount.updateMany({ where: { id: row.id, apiSecretEnc: row.apiSecretEnc, accessTokenEnc: row.accessTokenEnc }, data: { accessTokenEnc, status: "ACTIVE", sessionExpiresAt: this.deps.broker.sessionEnd(session.loginTime), lastVerifiedAt: this.deps.clock.now(), profile: snapshot(session.profile) as never } });
        if (written.count === 0) throw BadUserInputError.field("id", "the account changed while it was renewed: try again");
        scope.publish("trading_account.credentials_updated", row.id, { ...this.about(row), change: "session_renewed" });
        scope.audit({ action: "trading_account.renew", subjectType: "trading_account", subjectId: row.id });
      });
    });
    return this.view(viewer.userId, row.id);
  }

  /** New API key and secret, proven with the broker (a session of the same account) before they replace the old ones. */
  async rotate(viewer: Viewer, rawId: string, input: RotateTradingAccountCredentialsInput, origin: Origin): Promise<AccountView> {
    const { row, credentials: old } = await this.owned(viewer, rawId);
    const given = checkCredentials(input, "input");
    const session = await this.exchange(given, "input.");
    if (session.profile.brokerUserId !== row.brokerUserId) {
      await this.endQuietly(given.apiKey, session.accessToken);
      throw BadUserInputError.field("input.requestToken", "the new credentials log in to another broker account than this one");
    }
    await this.settle(given.apiKey, session.accessToken, async () => {
      const sealed = await this.deps.credentials.sealNew(row, { apiKey: given.apiKey, apiSecret: given.apiSecret, accessToken: session.accessToken });
      await this.deps.unitOfWork.run(origin, async (scope) => {
        const written = await scope.tx.tradingAccount.updateMany({ where: { id: row.id, apiSecretEnc: row.apiSecretEnc, accessTokenEnc: row.accessTokenEnc }, data: { ...sealed.columns, status: "ACTIVE", sessionExpiresAt: this.deps.broker.sessionEnd(session.loginTime), lastVerifiedAt: this.deps.clock.now(), profile: snapshot(session.profile) as never } });
        if (written.count === 0) throw BadUserInputError.field("id", "the account changed while its credentials were rotated: try again");
        // A new data key; the old one (and what it sealed) is gone with the update.
        await scope.tx.tradingAccountKey.update({ where: { accountId: row.id }, data: { keyEnc: sealed.key.ciphertext, wrappedKey: sealed.key.wrappedKey, kekId: sealed.key.kekId } });
        scope.publish("trading_account.credentials_updated", row.id, { ...this.about(row), change: "credentials_rotated" });
        scope.audit({ action: "trading_account.rotate_credentials", subjectType: "trading_account", subjectId: row.id });
      });
    });
    await this.endQuietly(old.apiKey, old.accessToken);
    return this.view(viewer.userId, row.id);
  }

  async status(viewer: Viewer, rawId: string): Promise<TradingAccountStatusReport> {
    const id = idArgument("id", rawId);
    await this.roleOrNotFound(viewer, id);
    const row = await this.row(id);
    return { status: this.effectiveStatus(row), lastVerifiedAt: row.lastVerifiedAt, sessionExpiresAt: row.sessionExpiresAt, credentialsValid: row.status !== "INVALID_CREDENTIALS" };
  }

  async share(viewer: Viewer, rawId: string, input: ShareTradingAccountInput, origin: Origin): Promise<AccountView> {
    const id = idArgument("id", rawId);
    if ((await this.roleOrNotFound(viewer, id)) !== "OWNER") throw new ForbiddenError(OWNER_ONLY);
    if (input.role === "OWNER") throw BadUserInputError.field("input.role", "must be TRADER or VIEWER (an account has one owner)");
    const email = emailArgument(input.email);
    const invitee = await this.deps.prisma.user.findFirst({ where: { email, deletedAt: null }, select: { id: true } });
    if (!invitee) {
      // The rule (the invitee must have an account) tells an owner whether an address is registered: every such answer is on record.
      await this.deps.unitOfWork.run(origin, async (scope) => scope.audit({ action: "trading_account.share", outcome: "failure", subjectType: "trading_account", subjectId: id, metadata: { reason: "no such user" } }));
      throw BadUserInputError.field("input.email", "no user has this email; they must have an account first");
    }
    if (invitee.id === viewer.userId) throw BadUserInputError.field("input.email", "is the owner's own");
    const row = await this.row(id);
    await this.deps.unitOfWork.run(origin, async (scope) => {
      await scope.tx.tradingAccountMember.upsert({ where: { accountId_userId: { accountId: id, userId: invitee.id } }, create: { accountId: id, userId: invitee.id, role: input.role, addedBy: viewer.userId }, update: { role: input.role } });
      scope.publish("trading_account.member_added", id, { ...this.about(row), userId: invitee.id, role: input.role as "TRADER" | "VIEWER" });
      scope.audit({ action: "trading_account.share", subjectType: "trading_account", subjectId: id, metadata: { userId: invitee.id, role: input.role } });
    });
    return this.view(viewer.userId, id);
  }

  /** The owner removes a member; a member may remove themself (leave). */
  async removeMember(viewer: Viewer, rawId: string, rawUserId: string, origin: Origin): Promise<boolean> {
    const id = idArgument("id", rawId);
    const userId = idArgument("userId", rawUserId);
    const role = await this.roleOrNotFound(viewer, id);
    if (role !== "OWNER" && userId !== viewer.userId) throw new ForbiddenError(OWNER_ONLY);
    const row = await this.row(id);
    await this.deps.unitOfWork.run(origin, async (scope) => {
      const removed = await scope.tx.tradingAccountMember.deleteMany({ where: { accountId: id, userId } });
      if (removed.count === 0) throw new NotFoundError("Member");
      const [current] = await this.deps.defaults.defaultTradingAccountOf([userId]);
      if (current === id) await this.deps.defaults.setDefaultTradingAccount(scope, userId, null);
      scope.publish("trading_account.member_removed", id, { ...this.about(row), userId });
      scope.audit({ action: "trading_account.remove_member", subjectType: "trading_account", subjectId: id, metadata: { userId } });
    });
    return true;
  }

  /** The broker session, for a service client with `trading_accounts:session` (the checker let it through); audited on every answer. */
  async session(client: ClientCaller, rawId: string, origin: Origin): Promise<TradingAccountSession> {
    const id = idArgument("id", rawId);
    const row = await this.deps.prisma.tradingAccount.findUnique({ where: { id }, include: { owner: { select: { status: true, deletedAt: true } } } });
    const refusal = !row ? new NotFoundError("Trading account") : row.owner.status !== "ACTIVE" || row.owner.deletedAt ? new ForbiddenError("The account's owner is not active") : this.effectiveStatus(row) !== "ACTIVE" ? new BrokerSessionEndedError("The account's broker session has ended; its owner must renew it") : null;
    const read = (outcome: "success" | "denied", reason?: string) =>
      this.deps.unitOfWork.run(origin, async (scope) => scope.audit({ action: "trading_account.session_read", outcome, subjectType: "trading_account", subjectId: id, metadata: { clientId: client.clientId, accountId: id, ...(reason ? { reason } : {}) } }));
    if (refusal || !row) {
      await read("denied", refusal?.message);
      throw refusal;
    }
    const { apiKey, accessToken } = await this.open(row);
    await read("success");
    return { apiKey, accessToken, expiresAt: row.sessionExpiresAt };
  }

  /** The daily sweep (06:00 IST): sessions past their end are REAUTH_REQUIRED, and their owners told. */
  async expireSessions(): Promise<number> {
    const now = this.deps.clock.now();
    return this.deps.unitOfWork.run(SYSTEM, async (scope) => {
      const rows = await scope.tx.tradingAccount.findMany({ where: { status: "ACTIVE", sessionExpiresAt: { lte: now } } });
      for (const row of rows) {
        const changed = await scope.tx.tradingAccount.updateMany({ where: { id: row.id, status: "ACTIVE", sessionExpiresAt: { lte: now } }, data: { status: "REAUTH_REQUIRED" } });
        if (changed.count === 1) await this.reauthRequired(scope, row, "expired");
      }
      return rows.length;
    });
  }

  /** The authorization module's question for `trading_account:<id>` (a canonical id): orders for the owner and traders; any other permission is no member's. */
  async allows(userId: string, accountId: string | undefined, permission: string): Promise<boolean> {
    const roles = PERMITTED[permission];
    if (!accountId || !roles) return false;
    const role = await roleOf(this.deps.prisma, userId, accountId);
    return role !== null && roles.includes(role);
  }

  /**
   * Erasure's part: every account the user owns is unlinked as `unlink` would (the broker session
   * ended, best effort: the erasure does not wait for a broker that is down; the event published),
   * and their memberships removed. Runs in the erasure's unit of work.
   */
  async erase(scope: WorkScope, userId: string): Promise<void> {
    const owned = await scope.tx.tradingAccount.findMany({ where: { ownerId: userId }, include: { key: true, _count: { select: { members: true } } } });
    for (const row of owned) {
      if (row.key) {
        const credentials = await this.deps.credentials.open(row, { ciphertext: row.key.keyEnc, wrappedKey: row.key.wrappedKey, kekId: row.key.kekId }, row);
        await this.endQuietly(credentials.apiKey, credentials.accessToken);
      }
      scope.publish("trading_account.unlinked", row.id, { ...this.about(row), ownerId: row.ownerId, members: row._count.members });
      scope.audit({ action: "trading_account.unlink", subjectType: "trading_account", subjectId: row.id, metadata: { reason: "erasure", members: row._count.members } });
    }
    await scope.tx.tradingAccount.deleteMany({ where: { ownerId: userId } });
    const memberships = await scope.tx.tradingAccountMember.findMany({ where: { userId }, include: { account: { select: { id: true, brokerUserId: true } } } });
    for (const membership of memberships) scope.publish("trading_account.member_removed", membership.accountId, { ...this.about(membership.account), userId });
    await scope.tx.tradingAccountMember.deleteMany({ where: { userId } });
  }

  // ---------------------------------------------------------------- shared steps

  private async reauthRequired(scope: WorkScope, row: Row, reason: "expired" | "broker_ended_session"): Promise<void> {
    scope.publish("trading_account.reauth_required", row.id, { ...this.about(row), reason });
    const owner = await scope.tx.user.findUniqueOrThrow({ where: { id: row.ownerId }, select: { email: true, locale: true } });
    scope.notify({ to: owner.email, template: "trading-account-reauth", locale: owner.locale, params: { accountId: row.id, broker: row.broker, brokerUserId: row.brokerUserId, nickname: row.nickname ?? "" } });
    scope.audit({ action: "trading_account.reauth_required", subjectType: "trading_account", subjectId: row.id, metadata: { reason } });
  }

  /** The broker's session for given credentials; a refused value is BAD_USER_INPUT naming its field. */
  private async exchange(credentials: { apiKey: string; apiSecret: string; requestToken: string }, prefix: string): Promise<BrokerSession> {
    try {
      return await this.deps.broker.startSession(credentials.apiKey, credentials.apiSecret, credentials.requestToken);
    } catch (error) {
      if (error instanceof BrokerRefusedInput) throw BadUserInputError.field(`${prefix}${error.field}`, error.problem);
      throw error;
    }
  }

  private about(row: Pick<Row, "id" | "brokerUserId">) {
    return { accountId: row.id, broker: "KITE" as const, brokerUserId: row.brokerUserId };
  }

  private async roleOrNotFound(viewer: Viewer, id: string): Promise<TradingAccountRole> {
    const role = await roleOf(this.deps.prisma, viewer.userId, id);
    if (!role) throw new NotFoundError("Trading account");
    return role;
  }

  /** The row and its credentials, for the owner (members FORBIDDEN, others NOT_FOUND). */
  private async owned(viewer: Viewer, rawId: string): Promise<{ row: Row; credentials: Credentials }> {
    const id = idArgument("id", rawId);
    if ((await this.roleOrNotFound(viewer, id)) !== "OWNER") throw new ForbiddenError(OWNER_ONLY);
    const row = await this.row(id);
    return { row, credentials: await this.open(row) };
  }

  private async row(id: string, tx: Tx | Prisma = this.deps.prisma): Promise<Row> {
    const row = await tx.tradingAccount.findUnique({ where: { id } });
    if (!row) throw new NotFoundError("Trading account");
    return row;
  }

  private async keyOf(accountId: string) {
    const key = await this.deps.prisma.tradingAccountKey.findUniqueOrThrow({ where: { accountId } });
    return { ciphertext: key.keyEnc, wrappedKey: key.wrappedKey, kekId: key.kekId };
  }

  private async open(row: Row): Promise<Credentials> {
    return this.deps.credentials.open(row, await this.keyOf(row.id), row);
  }

  /** Runs `work`, which records a session just started; if it fails, that session is ended at the broker. */
  private async settle(apiKey: string, accessToken: string, work: () => Promise<void>): Promise<void> {
    try {
      await work();
    } catch (error) {
      await this.endQuietly(apiKey, accessToken);
      throw error;
    }
  }

  /** REAUTH_REQUIRED once the session's daily end has passed, even before the sweep has marked it. */
  private effectiveStatus(row: Row): TradingAccountStatusName {
    return row.status === "ACTIVE" && row.sessionExpiresAt <= this.deps.clock.now() ? "REAUTH_REQUIRED" : (row.status as TradingAccountStatusName);
  }

  private async endQuietly(apiKey: string, accessToken: string): Promise<void> {
    await this.deps.broker.endSession(apiKey, accessToken).catch((error: unknown) => this.deps.logger.warn({ err: { message: (error as Error).message } }, "could not end a broker session"));
  }

  async view(userId: string, id: string): Promise<AccountView> {
    const row = await this.deps.prisma.tradingAccount.findUnique({ where: { id }, include: { members: { orderBy: { createdAt: "asc" } } } });
    if (!row) throw new NotFoundError("Trading account");
    const role: TradingAccountRole = row.ownerId === userId ? "OWNER" : ((row.members.find((m) => m.userId === userId)?.role ?? "VIEWER") as TradingAccountRole);
    const [defaultId] = await this.deps.defaults.defaultTradingAccountOf([userId]);
    return {
      id: row.id,
      broker: "KITE",
      brokerUserId: row.brokerUserId,
      nickname: row.nickname,
      status: this.effectiveStatus(row),
      lastVerifiedAt: row.lastVerifiedAt,
      role,
      isDefault: defaultId === row.id,
      profile: row.profile as never,
      // The owner sees every member; a member sees the owner and themself.
      members: [{ userId: row.ownerId, role: "OWNER" }, ...row.members.filter((m) => role === "OWNER" || m.userId === userId).map((m) => ({ userId: m.userId, role: m.role as TradingAccountRole }))],
    };
  }
}

function snapshot(profile: BrokerProfile) {
  return { userName: profile.userName, email: profile.email, exchanges: profile.exchanges, products: profile.products };
}

function checkToken(value: string, field: string): string {
  if (!CREDENTIAL.test(value)) throw BadUserInputError.field(field, "must be 1 to 256 printable characters without spaces");
  return value;
}

function checkCredentials(input: { apiKey: string; apiSecret: string; requestToken: string }, prefix: string) {
  const problems = (["apiKey", "apiSecret", "requestToken"] as const).filter((f) => !CREDENTIAL.test(input[f])).map((f) => ({ field: `${prefix}.${f}`, message: "must be 1 to 256 printable characters without spaces" }));
  if (problems.length > 0) throw new BadUserInputError(problems);
  return { apiKey: input.apiKey, apiSecret: input.apiSecret, requestToken: input.requestToken };
}

function checkNickname(value: string | null | undefined, field: string): string | null {
  const nickname = value?.trim() || null;
  if (nickname && (nickname.length > MAX_NICKNAME || /[\p{Cc}]/u.test(nickname))) throw BadUserInputError.field(field, `must be at most ${MAX_NICKNAME} characters, without control characters`);
  return nickname;
}
