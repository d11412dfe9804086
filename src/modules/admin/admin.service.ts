import type { Viewer } from "../../graphql/context";
import { cursorCodec, pageOf, pageSize } from "../../graphql/connection";
import { join, sql, type Sql } from "../../platform/db/database";
import type { Origin, WorkScope } from "../../platform/events/unit-of-work";
import { BadUserInputError, ForbiddenError, NotFoundError } from "../../shared/errors";
import { InputCheck, idArgument } from "../../shared/input-check";
import type { Kernel } from "../module";
import { endSessions, type SessionRevocations } from "../sessions";
import { privateUser, type User, type UserRow } from "../users";
import type { AdminUserFilter, UserConnection } from "./admin.types";

/** What the service uses, by name. */
export type AdminServiceDeps = Pick<Kernel, "prisma" | "unitOfWork" | "clock"> & {
  revocations: Pick<SessionRevocations, "markRevoked">;
  /** Tells the authorization module the account changed (its decisions read the account's state). */
  accountChanged: (userId: string) => void;
};

/** Newest first: the key is (created_at, id), which the index users_created_at_id_idx serves. */
const cursors = cursorCodec("user", /(\d{1,15}):([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})/);

type Listed = UserRow & { roles: string[] };

/** The filter's conditions (SQL), or BAD_USER_INPUT naming each bad field (`filter.<field>`). */
function conditions(filter: AdminUserFilter | null | undefined): Sql[] {
  if (!filter) return [];
  const check = new InputCheck("filter");
  const email = check.text("email", filter.email?.normalize("NFC"), 254);
  const role = check.text("role", filter.role, 64);
  const { createdAfter, createdBefore, status } = filter;
  if (createdAfter && createdBefore && createdAfter.getTime() > createdBefore.getTime()) check.problem("createdAfter", "must not be after filter.createdBefore");
  if (check.problems.length > 0) throw new BadUserInputError(check.problems);
  return [
    // A prefix, in the database's own case folding (as the citext column compares); LIKE's wildcards taken literally.
    ...(email !== null ? [sql`u.email::text ILIKE ${`${email.replace(/[\\%_]/g, "\\$&")}%`}`] : []),
    ...(status ? [sql`u.status = ${status}::user_status`] : []),
    ...(role !== null ? [sql`EXISTS (SELECT FROM user_roles r WHERE r.user_id = u.id AND r.role = ${role})`] : []),
    ...(createdAfter ? [sql`u.created_at > ${createdAfter}::timestamptz`] : []),
    ...(createdBefore ? [sql`u.created_at < ${createdBefore}::timestamptz`] : []),
  ];
}

/** Account administration: the list of users, suspension and reactivation. */
export class AdminService {
  constructor(private readonly deps: AdminServiceDeps) {}

  /** Users matching the filter, newest first, with their private fields and roles: one query a page. */
  async users(filter: AdminUserFilter | null | undefined, first: number | null | undefined, after: string | null | undefined): Promise<UserConnection> {
    const size = pageSize(first);
    const where = conditions(filter);
    if (after) {
      const [ms, id] = cursors.decode(after);
      where.push(sql`(u.created_at, u.id) < (${new Date(Number(ms))}::timestamptz, ${id}::uuid)`);
    }
    const rows = await this.read(where, size + 1);
    return pageOf(rows, size, (row) => cursors.encode(row.createdAt.getTime(), row.id), (row) => privateUser(row, row.roles));
  }

  /** The users `where` matches (all of it), newest first, each with its roles. */
  private read(where: Sql[], limit: number): Promise<Listed[]> {
    return this.deps.prisma.$queryRaw<Listed[]>`
      SELECT u.id::text AS id, u.name, u.avatar_url AS "avatarUrl", u.email::text AS email, u.email_verified_at AS "emailVerifiedAt",
             u.status::text AS status, u.phone, u.locale, u.timezone, u.preferred_currency AS "preferredCurrency",
             u.created_at AS "createdAt", u.updated_at AS "updatedAt",
             ARRAY(SELECT r.role::text FROM user_roles r WHERE r.user_id = u.id ORDER BY r.role) AS roles
      FROM users u
      WHERE ${where.length > 0 ? join(where, " AND ") : sql`TRUE`}
      ORDER BY u.created_at DESC, u.id DESC
      LIMIT ${limit}`;
  }

  private async user(id: string): Promise<User> {
    const [row] = await this.read([sql`u.id = ${id}::uuid`], 1);
    if (!row) throw new NotFoundError("User");
    return privateUser(row, row.roles);
  }

  /**
   * Suspends another user: status SUSPENDED, every session ended at once (their access tokens are
   * refused from the next request; logins and refreshes fail as for a wrong password), the user told
   * by `account-suspended`, `user.suspended`, and the reason audited with the admin as actor.
   */
  async suspend(viewer: Viewer, rawId: string, rawReason: string, origin: Origin): Promise<User> {
    const check = new InputCheck("");
    const reason = check.text("reason", rawReason, 500);
    if (reason === null && check.problems.length === 0) check.problem("reason", "is required");
    if (check.problems.length > 0) throw new BadUserInputError(check.problems);
    const id = idArgument("id", rawId);
    if (id === viewer.userId) throw new ForbiddenError("An administrator may not suspend themself");
    const ended = await this.deps.unitOfWork.run(origin, async (scope) => {
      const current = await this.lockedUser(scope, id);
      if (current.status === "SUSPENDED") throw BadUserInputError.field("id", "is already suspended");
      const user = await scope.tx.user.update({ where: { id }, data: { status: "SUSPENDED" }, select: { email: true, locale: true } });
      const ids = await endSessions(scope, id, "account_suspended", {}, this.deps.clock.now());
      scope.publish("user.suspended", id, { sessionsEnded: ids.length, by: viewer.userId });
      scope.notify({ to: user.email, template: "account-suspended", locale: user.locale, params: {} });
      scope.audit({ action: "user.suspend", subjectType: "user", subjectId: id, metadata: { reason, previousStatus: current.status, sessionsEnded: ids.length } });
      return ids;
    });
    await this.deps.revocations.markRevoked(ended);
    this.deps.accountChanged(id);
    return this.user(id);
  }

  /** Lifts a suspension: ACTIVE again (PENDING_VERIFICATION while the email is unverified); only a suspended user. */
  async reactivate(viewer: Viewer, rawId: string, origin: Origin): Promise<User> {
    const id = idArgument("id", rawId);
    await this.deps.unitOfWork.run(origin, async (scope) => {
      const current = await this.lockedUser(scope, id);
      if (current.status !== "SUSPENDED") throw BadUserInputError.field("id", "is not suspended");
      const status = current.emailVerifiedAt ? "ACTIVE" : "PENDING_VERIFICATION";
      await scope.tx.user.update({ where: { id }, data: { status } });
      scope.publish("user.reactivated", id, { status, by: viewer.userId });
      scope.audit({ action: "user.reactivate", subjectType: "user", subjectId: id, metadata: { status } });
    });
    this.deps.accountChanged(id);
    return this.user(id);
  }

  /** The user, locked against concurrent changes until the unit of work commits; NOT_FOUND for an unknown or deleted one. */
  private async lockedUser(scope: WorkScope, id: string): Promise<{ status: string; emailVerifiedAt: Date | null }> {
    const [current] = await scope.tx.$queryRaw<{ status: string; emailVerifiedAt: Date | null; deletedAt: Date | null }[]>`
      SELECT status::text AS status, email_verified_at AS "emailVerifiedAt", deleted_at AS "deletedAt" FROM users WHERE id = ${id}::uuid FOR UPDATE`;
    if (!current || current.deletedAt || current.status === "DELETED") throw new NotFoundError("User");
    return current;
  }
}
