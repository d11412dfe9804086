import { cursorCodec, pageOf, pageSize } from "../../graphql/connection";
import type { Prisma } from "../../platform/db/database";
import type { Prisma as Db } from "../../generated/prisma/client";
import { BadUserInputError } from "../../shared/errors";
import { InputCheck, idArgument } from "../../shared/input-check";
import type { AuditEventConnection, AuditEventFilter } from "./audit.types";

const cursors = cursorCodec("audit", /(\d{1,18})/); // within bigint
const OUTCOMES = ["success", "failure", "denied"];

/** Records where the user acted or was acted upon. */
const involving = (userId: string): Db.AuditEventWhereInput => ({ OR: [{ actorId: userId }, { subjectType: "user", subjectId: userId }] });

/** The filter's conditions, or BAD_USER_INPUT naming each bad field (`filter.<field>`). */
function conditions(filter: AuditEventFilter | null | undefined): Db.AuditEventWhereInput[] {
  if (!filter) return [];
  const check = new InputCheck("filter");
  const action = check.text("action", filter.action, 100);
  const { userId = null, outcome = null } = filter;
  if (outcome !== null && !OUTCOMES.includes(outcome)) check.problem("outcome", `must be one of ${OUTCOMES.join(", ")}`);
  if (filter.from && filter.to && filter.from.getTime() > filter.to.getTime()) check.problem("from", "must not be after filter.to");
  if (check.problems.length > 0) throw new BadUserInputError(check.problems);
  return [
    ...(userId !== null ? [involving(idArgument("filter.userId", userId))] : []),
    ...(action !== null ? [{ action }] : []),
    ...(outcome !== null ? [{ outcome }] : []),
    ...(filter.from || filter.to ? [{ occurredAt: { ...(filter.from ? { gte: filter.from } : {}), ...(filter.to ? { lt: filter.to } : {}) } }] : []),
  ];
}

/** The audit trail as its subjects, auditors and admins see it: newest first, cursor-paginated. */
export class AuditService {
  constructor(private readonly prisma: Prisma) {}

  /** The user's own records (myAuditEvents): the filter's userId, if given, must be theirs. */
  async forUser(userId: string, first: number | null | undefined, after: string | null | undefined, filter?: AuditEventFilter | null): Promise<AuditEventConnection> {
    const asked = filter?.userId ?? null;
    if (asked !== null && idArgument("filter.userId", asked) !== userId) {
      throw BadUserInputError.field("filter.userId", "must be the caller's own id (auditEvents lists other users' records)");
    }
    return this.page([involving(userId), ...conditions({ ...filter, userId: null })], first, after);
  }

  /** Every record the filter matches (auditEvents). */
  async list(filter: AuditEventFilter | null | undefined, first: number | null | undefined, after: string | null | undefined): Promise<AuditEventConnection> {
    return this.page(conditions(filter), first, after);
  }

  private async page(where: Db.AuditEventWhereInput[], first: number | null | undefined, after: string | null | undefined): Promise<AuditEventConnection> {
    const size = pageSize(first);
    const before = after ? BigInt(cursors.decode(after)[0] as string) : undefined;
    const rows = await this.prisma.auditEvent.findMany({
      where: { AND: [...where, ...(before !== undefined ? [{ id: { lt: before } }] : [])] },
      orderBy: { id: "desc" },
      take: size + 1,
    });
    return pageOf(rows, size, (row) => cursors.encode(row.id), (row) => ({ id: row.id.toString(), action: row.action, outcome: row.outcome, occurredAt: row.occurredAt, ipAddress: row.ipAddress }));
  }
}
