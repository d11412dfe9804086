import { randomUUID } from "node:crypto";
import { parseUuid } from "../../shared/ids";
import type { ClientCaller, Viewer } from "../../graphql/context";
import { sql } from "../../platform/db/database";
import type { Origin } from "../../platform/events/unit-of-work";
import { announce, listen, type PubSub } from "../../platform/pubsub/pubsub";
import { BadUserInputError, ForbiddenError, NotFoundError } from "../../shared/errors";
import { InputCheck, idArgument } from "../../shared/input-check";

import type { Kernel } from "../module";
import { privateUser, type User } from "../users";
import { PERMISSION_NAME } from "./authz.catalogue";
import { CedarPolicySet, PolicyConditionError, validatePolicy, type CedarRequest, type StoredPolicy } from "./cedar-policies";
import type { CheckPermissionInput, EffectivePermission, GrantPermissionInput, Policy, PermissionDecision, PermissionGrant, PolicyInput } from "./authz.types";

/** Whether a user may use a resource of a guarded type (the trading-accounts module answers for `trading_account`). */
export type ResourceGuard = (userId: string, resourceId: string | undefined, permission: string) => Promise<boolean>;

/** Resource types no permission reaches without the module that owns them saying yes. */
const GUARDED_TYPES: Readonly<Record<string, string>> = { trading_account: "the trading-accounts module" };
/** Permissions that only exist on one guarded resource: asked without it (or with another type), they are denied. */
const GUARDED_PERMISSIONS: Readonly<Record<string, string>> = { "trading:orders:place": "trading_account" };

const CHANGED_TOPIC = "authz:changed";
/** Users whose roles and grants an instance keeps (a few hundred bytes each). */
const SUBJECT_CACHE_SIZE = 10_000;

/** A cached value and until when (ms) it may be used without asking again. */
interface Cached<T> {
  value: Promise<T>;
  until: number;
}

/** How long an instance decides from a user's roles and grants without reading them again. */
const SUBJECT_TTL_MS = 5_000;
/** How often an instance asks whether the stored policies changed. */
const POLICY_CHECK_MS = 2_000;
const ROLES_TTL_MS = 60_000;

interface Subject {
  /** ACTIVE and not deleted: anything else is denied whatever the roles. */
  active: boolean;
  roles: string[];
  emailVerified: boolean;
  grants: { id: string; permission: string; expiresAt: Date | null }[];
  kycStatus: string;
}

/** Who asks for a decision: a user (the viewer, or the one checked for) with what their token says. */
export interface Principal {
  userId: string;
  /** Seconds since the principal's last second factor, when the viewer is the principal and gave one. */
  mfaAge?: number;
  origin?: Pick<Origin, "ipAddress" | "country">;
}

export type AuthzServiceDeps = Pick<Kernel, "prisma" | "sql" | "unitOfWork" | "clock" | "logger"> & {
  pubSub: PubSub;
  guards: ReadonlyMap<string, ResourceGuard>;
  /** Cedar's `principal.kycStatus` (the KYC module's answer; "NONE" until one is given). */
  kycStatus: { of: ((userId: string) => Promise<string>) | null };
};

const allow = (reason: string): PermissionDecision => ({ allowed: true, reason });
const deny = (reason: string): PermissionDecision => ({ allowed: false, reason });

interface SubjectRow {
  active: boolean;
  emailVerified: boolean;
  roles: string[];
  grants: { id: string; permission: string; expiresAtMs: number | null }[];
}

/**
 * A user's account state, roles and grants in one prepared statement (every login, refresh after a
 * change and uncached decision reads it): the lists as JSON, which pg and PGlite both parse.
 */
const subjectStatement = (userId: string) => sql`
  SELECT u.status = 'ACTIVE' AND u.deleted_at IS NULL AS active, u.email_verified_at IS NOT NULL AS "emailVerified",
         coalesce((SELECT json_agg(r.role) FROM user_roles r WHERE r.user_id = u.id), '[]') AS roles,
         coalesce((SELECT json_agg(json_build_object('id', g.id, 'permission', g.permission, 'expiresAtMs', (extract(epoch FROM g.expires_at) * 1000)::bigint))
                   FROM permission_grants g WHERE g.user_id = u.id), '[]') AS grants
  FROM users u WHERE u.id = ${userId}::uuid`;

/**
 * Roles, grants and policies, and the decisions made from them: deny by default; a DENY policy
 * that applies wins; otherwise a role, an unexpired grant or an ALLOW policy allows. What a
 * decision reads is cached per instance and dropped on every instance when it changes (pub/sub).
 * Anything that goes wrong while deciding denies (SECURITY 64).
 */
export class AuthzService {
  private readonly subjects = new Map<string, Cached<Subject>>();
  private policySet: (Cached<CedarPolicySet> & { version: Promise<string> }) | null = null;
  private rolePermissions: Cached<Map<string, Set<string>>> | null = null;

  constructor(private readonly deps: AuthzServiceDeps) {}

  /** Drops what changed, here and (through pub/sub) on every other instance; the caches' expiry bounds a lost announcement. */
  private changed(change: { userId?: string; policies?: true }): void {
    this.forget(change);
    announce(this.deps.pubSub, CHANGED_TOPIC, change, this.deps.logger, "an authorization change");
  }

  /** A user's account or roles changed elsewhere (suspension, reactivation): every instance forgets what it knew. */
  userChanged(userId: string): void {
    this.changed({ userId });
  }

  private forget(change: { userId?: string; policies?: true }): void {
    if (change.userId) this.subjects.delete(change.userId);
    if (change.policies) this.policySet = null;
  }

  /** Listens for other instances' changes; returns the unsubscribe. */
  listen(): () => Promise<void> {
    return listen(this.deps.pubSub, CHANGED_TOPIC, (change) => this.forget((change ?? {}) as { userId?: string; policies?: true }), this.deps.logger, "authorization change listener");
  }

  private now(): number {
    return this.deps.clock.now().getTime();
  }

  /** A user's roles, grants and account state, kept SUBJECT_TTL_MS (pub/sub drops it sooner on a change). */
  private subject(userId: string): Promise<Subject> {
    const cached = this.subjects.get(userId);
    if (cached && cached.until > this.now()) return cached.value;
    if (this.subjects.size >= SUBJECT_CACHE_SIZE) this.subjects.delete(this.subjects.keys().next().value as string);
    const value = Promise.all([this.deps.sql.query<SubjectRow>(subjectStatement(userId)), this.deps.kycStatus.of?.(userId) ?? "NONE"]).then(([[row], kycStatus]) => ({
      active: row?.active === true,
      roles: row?.roles.sort() ?? [],
      emailVerified: row?.emailVerified === true,
      grants: row?.grants.map((g) => ({ id: g.id, permission: g.permission, expiresAt: g.expiresAtMs === null ? null : new Date(g.expiresAtMs) })) ?? [],
      kycStatus,
    }));
    // A failed load is not remembered: the next decision asks again.
    value.catch(() => this.subjects.delete(userId));
    this.subjects.set(userId, { value, until: this.now() + SUBJECT_TTL_MS });
    return value;
  }

  /**
   * The stored policies, parsed once per version: every POLICY_CHECK_MS the table's version (count and
   * latest change) is asked again, and the set reloaded only when it differs.
   */
  private async policies(): Promise<CedarPolicySet> {
    const current = this.policySet;
    if (current && current.until > this.now()) return current.value;
    const version = this.deps.prisma.$queryRaw<{ v: string }[]>`SELECT count(*)::text || ':' || coalesce(max(updated_at)::text, '') AS v FROM policies`.then((rows) => rows[0]?.v ?? "");
    if (current && (await current.version) === (await version) && this.policySet === current) {
      current.until = this.now() + POLICY_CHECK_MS;
      return current.value;
    }
    const value = this.deps.prisma.policy.findMany({ orderBy: { name: "asc" } }).then((rows) => new CedarPolicySet(rows.map(storedPolicy)));
    const entry = { value, version, until: this.now() + POLICY_CHECK_MS };
    value.catch(() => {
      if (this.policySet === entry) this.policySet = null;
    });
    this.policySet = entry;
    return value;
  }

  /** What each role grants (built-in roles change only by migration): kept ROLES_TTL_MS. */
  private roles(): Promise<Map<string, Set<string>>> {
    if (this.rolePermissions && this.rolePermissions.until > this.now()) return this.rolePermissions.value;
    const value = this.deps.prisma.rolePermission.findMany().then((rows) => {
      const byRole = new Map<string, Set<string>>();
      for (const { role, permission } of rows) byRole.set(role, (byRole.get(role) ?? new Set()).add(permission));
      return byRole;
    });
    const entry = { value, until: this.now() + ROLES_TTL_MS };
    value.catch(() => {
      if (this.rolePermissions === entry) this.rolePermissions = null;
    });
    this.rolePermissions = entry;
    return value;
  }

  /** The roles access tokens carry (the claims source of the sessions module). */
  async rolesOf(userId: string): Promise<string[]> {
    return [...(await this.subject(userId)).roles];
  }

  /** One decision; never throws: a failure to decide denies. */
  async decide(principal: Principal, permission: string, given?: CheckPermissionInput["resource"], input?: Record<string, unknown> | null): Promise<PermissionDecision> {
    try {
      const needs = GUARDED_PERMISSIONS[permission];
      if (needs && (given?.type !== needs || !given.id)) return deny(`${permission} is decided on a ${needs} only: name one (resource: { type: "${needs}", id })`);
      // A guarded resource's id is a UUID in one spelling, so a policy naming it cannot be dodged by case.
      const canonical = given && GUARDED_TYPES[given.type] && given.id ? parseUuid(given.id) : undefined;
      if (canonical === null) return deny(`no ${given?.type} has the id ${given?.id}`);
      const resource = given && canonical ? { ...given, id: canonical } : given;
      const [subject, policies, roles] = await Promise.all([this.subject(principal.userId), this.policies(), this.roles()]);
      const request: CedarRequest = {
        principal: { kind: "user", id: principal.userId, roles: subject.roles, emailVerified: subject.emailVerified, kycStatus: subject.kycStatus, ...(principal.mfaAge === undefined ? {} : { mfaAge: principal.mfaAge }) },
        permission,
        resource: { type: resource?.type ?? "none", ...(resource?.id ? { id: resource.id } : {}), attributes: resource?.attributes ?? {} },
        context: { time: Math.floor(this.deps.clock.now().getTime() / 1000), input: input ?? {}, ...(principal.origin?.ipAddress ? { ip: principal.origin.ipAddress } : {}), ...(principal.origin?.country ? { country: principal.origin.country } : {}) },
      };
      if (!subject.active) return deny("the account is not active");
      const verdict = policies.evaluate(request);
      if (verdict?.effect === "DENY") return deny(`policy ${verdict.policy} denies${verdict.failed ? " (its condition could not be evaluated)" : ""}`);
      const now = this.deps.clock.now().getTime();
      const role = subject.roles.find((r) => roles.get(r)?.has(permission));
      const grant = subject.grants.find((g) => g.permission === permission && (g.expiresAt === null || g.expiresAt.getTime() > now));
      const reason = role ? `role ${role} grants ${permission}` : grant ? `a grant gives ${permission}${grant.expiresAt ? ` until ${grant.expiresAt.toISOString()}` : ""}` : verdict ? `policy ${verdict.policy} allows` : null;
      if (!reason) return deny(`no rule allows ${permission}`);
      const owner = resource ? GUARDED_TYPES[resource.type] : undefined;
      if (resource && owner) {
        const guard = this.deps.guards.get(resource.type);
        if (!guard) return deny(`no rule allows ${permission} on ${resource.type}: ${owner} decides it and is not running`);
        if (!(await guard(principal.userId, resource.id ?? undefined, permission))) return deny(`${owner} does not let this user use ${resource.type} ${resource.id ?? ""}`.trim());
      }
      return allow(reason);
    } catch (error) {
      this.deps.logger.error({ err: error, permission }, "authorization decision failed: denied");
      return deny("the decision could not be made");
    }
  }

  /** `perm:<name>` of the auth checker: the viewer's own decision, nothing else. */
  async viewerMay(viewer: Viewer, permission: string): Promise<boolean> {
    return (await this.decide(this.principalOf(viewer), permission)).allowed;
  }

  private principalOf(viewer: Viewer, origin?: Origin): Principal {
    const mfaAge = viewer.amr.includes("otp") ? Math.max(0, Math.floor(this.deps.clock.now().getTime() / 1000) - viewer.authTime) : undefined;
    return { userId: viewer.userId, ...(mfaAge === undefined ? {} : { mfaAge }), ...(origin ? { origin } : {}) };
  }

  /**
   * `scope:<name>` of the auth checker, for a service client whose token holds the scope: refused
   * when a DENY policy applies to the client itself (subject `client:<clientId>`, or `*`; the
   * action is the scope's name), so a policy can take a scope away before the client's tokens
   * expire. A policy cannot give a client a scope its token lacks. Failing to decide refuses.
   */
  async clientMay(client: ClientCaller, scope: string): Promise<boolean> {
    try {
      const verdict = (await this.policies()).evaluate({
        principal: { kind: "client", id: client.clientId, roles: [], emailVerified: false, kycStatus: "NONE" },
        permission: scope,
        resource: { type: "none", attributes: {} },
        context: { time: Math.floor(this.deps.clock.now().getTime() / 1000), input: {} },
      });
      return verdict?.effect !== "DENY";
    } catch (error) {
      this.deps.logger.error({ err: error, scope }, "authorization decision failed: denied");
      return false;
    }
  }

  /**
   * The check API: a user checks for themselves, or for another user with `authz:read`; a service
   * client (the checker let it through with `authz:check`) checks for the user each input names
   * (userId is required). The decisions are the users' own. Answers in order.
   */
  async checkPermissions(caller: { viewer: Viewer } | { client: ClientCaller }, inputs: readonly CheckPermissionInput[], origin: Origin): Promise<PermissionDecision[]> {
    if (inputs.length > MAX_CHECKS) throw BadUserInputError.field("inputs", `must be at most ${MAX_CHECKS} checks`);
    const fieldOf = (i: number) => (inputs.length === 1 ? "input" : `inputs[${i}]`);
    const checks = inputs.map((input, i) => parseCheck(input, fieldOf(i)));
    if ("client" in caller) {
      const missing = checks.findIndex((c) => c.userId === undefined);
      if (missing >= 0) throw BadUserInputError.field(`${fieldOf(missing)}.userId`, "is required when a service client checks");
      return Promise.all(checks.map((c) => this.decide({ userId: c.userId as string, origin }, c.permission, c.resource, c.context)));
    }
    const { viewer } = caller;
    const forOthers = checks.some((c) => c.userId !== undefined && c.userId !== viewer.userId);
    if (forOthers && !(await this.viewerMay(viewer, "authz:read"))) {
      await this.deniedAudit(origin, "authz.check", "checking another user's permissions needs authz:read");
      throw new ForbiddenError("Checking another user's permissions requires authz:read");
    }
    return Promise.all(
      checks.map((c) => this.decide(c.userId === undefined || c.userId === viewer.userId ? this.principalOf(viewer, origin) : { userId: c.userId, origin }, c.permission, c.resource, c.context)),
    );
  }

  async myPermissions(viewer: Viewer): Promise<EffectivePermission[]> {
    const [subject, roles] = await Promise.all([this.subject(viewer.userId), this.roles()]);
    const now = this.deps.clock.now().getTime();
    const fromRoles = subject.roles.flatMap((role) => [...(roles.get(role) ?? [])].sort().map((permission) => ({ permission, source: `role:${role}`, expiresAt: null })));
    const fromGrants = subject.grants.filter((g) => g.expiresAt === null || g.expiresAt.getTime() > now).map((g) => ({ permission: g.permission, source: "grant", expiresAt: g.expiresAt }));
    return [...fromRoles, ...fromGrants];
  }

  async assignRole(viewer: Viewer, userId: string, role: string, origin: Origin): Promise<User> {
    return this.changeRole(viewer, userId, role, origin, "assign");
  }

  async removeRole(viewer: Viewer, userId: string, role: string, origin: Origin): Promise<User> {
    return this.changeRole(viewer, userId, role, origin, "remove");
  }

  /** Gives or takes a role (the caller holds roles:assign); the role must exist. */
  private async changeRole(viewer: Viewer | null, rawUserId: string, role: string, origin: Origin, change: "assign" | "remove"): Promise<User> {
    const userId = idArgument("userId", rawUserId);
    if (!(await this.deps.prisma.role.findUnique({ where: { name: role } }))) throw BadUserInputError.field("role", `is not a role: ${role.slice(0, 64)}`);
    const user = await this.deps.prisma.user.findUnique({ where: { id: userId } });
    if (!user || user.deletedAt) throw new NotFoundError("User");
    await this.deps.unitOfWork.run(origin, async (scope) => {
      const changed =
        change === "assign"
          ? await scope.tx.$executeRaw`INSERT INTO user_roles (user_id, role, assigned_by) VALUES (${userId}::uuid, ${role}, ${viewer?.userId ?? null}::uuid) ON CONFLICT DO NOTHING`
          : (await scope.tx.userRole.deleteMany({ where: { userId, role } })).count;
      if (changed === 0) return;
      scope.publish(change === "assign" ? "role.assigned" : "role.removed", userId, { role, by: viewer?.userId ?? null });
      scope.audit({ action: change === "assign" ? "role.assign" : "role.remove", subjectType: "user", subjectId: userId, metadata: { role } });
    });
    this.changed({ userId });
    return privateUser(user, await this.rolesOf(userId));
  }

  /** Run by the `roles` command line (a system actor): the same change without a viewer. */
  async changeRoleAsSystem(userId: string, role: string, change: "assign" | "remove"): Promise<string[]> {
    await this.changeRole(null, userId, role, { actor: { type: "system", id: null } }, change);
    return this.rolesOf(userId);
  }

  async grantPermission(viewer: Viewer, input: GrantPermissionInput, origin: Origin): Promise<PermissionGrant> {
    const check = new InputCheck("input");
    const reason = check.text("reason", input.reason, 500);
    if (!PERMISSION_NAME.test(input.permission) || input.permission.length > 100) check.problems.push({ field: "input.permission", message: "must be <domain>:<action>, lowercase letters and _" });
    if (input.expiresAt && input.expiresAt.getTime() <= this.deps.clock.now().getTime()) check.problems.push({ field: "input.expiresAt", message: "must be in the future" });
    if (check.problems.length > 0) throw new BadUserInputError(check.problems);
    const userId = idArgument("input.userId", input.userId);
    if (!(await this.deps.prisma.user.findUnique({ where: { id: userId }, select: { id: true } }))) throw new NotFoundError("User");
    const id = randomUUID();
    const grant = await this.deps.unitOfWork.run(origin, async (scope) => {
      const created = await scope.tx.permissionGrant.create({ data: { id, userId, permission: input.permission, expiresAt: input.expiresAt ?? null, reason, grantedBy: viewer.userId } });
      scope.publish("permission.granted", userId, { grantId: id, permission: created.permission, expiresAt: created.expiresAt?.toISOString() ?? null, by: viewer.userId });
      scope.audit({ action: "permission.grant", subjectType: "user", subjectId: userId, metadata: { permission: created.permission, expiresAt: created.expiresAt?.toISOString() ?? null } });
      return created;
    });
    this.changed({ userId });
    return grant;
  }

  async revokePermission(viewer: Viewer, rawId: string, origin: Origin): Promise<true> {
    const id = idArgument("id", rawId);
    const revoked = await this.deps.unitOfWork.run(origin, async (scope) => {
      const [grant] = await scope.tx.$queryRaw<{ userId: string; permission: string }[]>`DELETE FROM permission_grants WHERE id = ${id}::uuid RETURNING user_id::text AS "userId", permission`;
      if (!grant) return null;
      scope.publish("permission.revoked", grant.userId, { grantId: id, permission: grant.permission, by: viewer.userId });
      scope.audit({ action: "permission.revoke", subjectType: "user", subjectId: grant.userId, metadata: { permission: grant.permission } });
      return grant;
    });
    if (!revoked) throw new NotFoundError("Grant");
    this.changed({ userId: revoked.userId });
    return true;
  }

  async createPolicy(viewer: Viewer, input: PolicyInput, origin: Origin): Promise<Policy> {
    const policy = parsePolicy(input);
    if (await this.deps.prisma.policy.findUnique({ where: { name: policy.name }, select: { id: true } })) throw BadUserInputError.field("input.name", "is taken by another policy");
    const created = await this.deps.unitOfWork.run(origin, async (scope) => {
      const row = await scope.tx.policy.create({
        data: { id: policy.id, name: policy.name, description: input.description ?? null, effect: policy.effect, priority: input.priority ?? 0, subjects: [...policy.subjects], actions: [...policy.actions], resources: [...policy.resources], condition: policy.condition, createdBy: viewer.userId, updatedBy: viewer.userId },
      });
      scope.publish("policy.created", row.id, { name: row.name, effect: row.effect, by: viewer.userId });
      scope.audit({ action: "policy.create", subjectType: "policy", subjectId: row.id, metadata: { name: row.name, effect: row.effect } });
      return row;
    });
    this.changed({ policies: true });
    return created as Policy;
  }

  async deletePolicy(viewer: Viewer, rawId: string, origin: Origin): Promise<true> {
    const id = idArgument("id", rawId);
    const deleted = await this.deps.unitOfWork.run(origin, async (scope) => {
      const [row] = await scope.tx.$queryRaw<{ name: string }[]>`DELETE FROM policies WHERE id = ${id}::uuid RETURNING name`;
      if (!row) return null;
      scope.publish("policy.deleted", id, { name: row.name, by: viewer.userId });
      scope.audit({ action: "policy.delete", subjectType: "policy", subjectId: id, metadata: { name: row.name } });
      return row;
    });
    if (!deleted) throw new NotFoundError("Policy");
    this.changed({ policies: true });
    return true;
  }

  /** An authorization refused at the edge (SECURITY 60): audited as denied. */
  async deniedAudit(origin: Origin, action: string, reason: string): Promise<void> {
    await this.deps.unitOfWork.run(origin, async (scope) => scope.audit({ action, outcome: "denied", metadata: { reason } }));
  }
}

const storedPolicy = (row: { id: string; name: string; effect: "ALLOW" | "DENY"; subjects: string[]; actions: string[]; resources: string[]; condition: string | null }): StoredPolicy => row;

/** At most this many checks in one checkPermissions, and this much JSON in a check's attributes or context. */
const MAX_CHECKS = 50;
const MAX_CHECK_JSON = 4096;

const SUBJECT = /^(\*|role:[a-z][a-z0-9_-]{0,63}|user:[0-9a-f-]{36}|client:[A-Za-z0-9_.-]{1,100})$/;
const ACTION = /^(\*|[a-z*][a-z_*]*(:[a-z*][a-z_*]*)*)$/;
const RESOURCE = /^[a-z*][a-z0-9_*]*(:[A-Za-z0-9_.*-]+)?$/;
const NAME = /^[a-z0-9][a-z0-9-]{0,99}$/;

/** A policy as given, checked field by field (its condition by Cedar), naming what is wrong. */
function parsePolicy(input: PolicyInput): StoredPolicy {
  const check = new InputCheck("input");
  const problem = (field: string, message: string) => check.problems.push({ field: `input.${field}`, message });
  if (!NAME.test(input.name)) problem("name", "must be lowercase letters, digits and dashes (at most 100)");
  check.text("description", input.description, 500);
  if (input.subjects.length === 0 || input.subjects.length > 50 || !input.subjects.every((s) => SUBJECT.test(s))) problem("subjects", "must be 1 to 50 of role:<name>, user:<id>, client:<clientId> or *");
  if (input.actions.length === 0 || input.actions.length > 50 || !input.actions.every((a) => ACTION.test(a) && a.length <= 100)) problem("actions", "must be 1 to 50 permission names, * a wildcard");
  if ((input.resources ?? []).length > 50 || !(input.resources ?? []).every((r) => RESOURCE.test(r) && r.length <= 200)) problem("resources", "must be at most 50 of <type> or <type>:<id>, * a wildcard");
  if (input.priority !== null && input.priority !== undefined && Math.abs(input.priority) > 1_000_000) problem("priority", "must be between -1000000 and 1000000");
  if ((input.condition?.length ?? 0) > 4000) problem("condition", "must be at most 4000 characters");
  if (check.problems.length > 0) throw new BadUserInputError(check.problems);
  const policy: StoredPolicy = { id: randomUUID(), name: input.name, effect: input.effect, subjects: input.subjects, actions: input.actions, resources: input.resources ?? [], condition: input.condition?.trim() || null };
  try {
    validatePolicy(policy);
  } catch (error) {
    if (error instanceof PolicyConditionError) throw BadUserInputError.field("input.condition", `is not a valid Cedar condition: ${error.message}`);
    throw error;
  }
  return policy;
}

/** One check's input, its ids and permission name checked (BAD_USER_INPUT naming the field). */
function parseCheck(input: CheckPermissionInput, at: string): { permission: string; userId?: string; resource?: CheckPermissionInput["resource"]; context: Record<string, unknown> | null } {
  if (!PERMISSION_NAME.test(input.permission) || input.permission.length > 100) throw BadUserInputError.field(`${at}.permission`, "must be <domain>:<action>, lowercase letters and _");
  const userId = input.userId ? idArgument(`${at}.userId`, input.userId) : undefined;
  if (input.resource && !/^[a-z][a-z0-9_]{0,63}$/.test(input.resource.type)) throw BadUserInputError.field(`${at}.resource.type`, "must be lowercase letters, digits and _");
  for (const [field, value] of [["resource.attributes", input.resource?.attributes], ["context", input.context]] as const) {
    if (value !== null && value !== undefined && (typeof value !== "object" || Array.isArray(value))) throw BadUserInputError.field(`${at}.${field}`, "must be a JSON object");
    if (value && JSON.stringify(value).length > MAX_CHECK_JSON) throw BadUserInputError.field(`${at}.${field}`, `must be at most ${MAX_CHECK_JSON} characters of JSON`);
  }
  return { permission: input.permission, ...(userId ? { userId } : {}), ...(input.resource ? { resource: input.resource } : {}), context: input.context ?? null };
}
