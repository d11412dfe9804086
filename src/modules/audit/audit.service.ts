import { BadUserInputError } from "../../shared/errors";
import type { Prisma } from "../../platform/db/database";
import type { AuditEventConnection } from "./audit.types";

const MAX_PAGE = 100;
const DEFAULT_PAGE = 20;

const encodeCursor = (id: bigint) => Buffer.from(`audit:${id}`).toString("base64url");

function decodeCursor(cursor: string): bigint {
  const match = /^audit:(\d{1,19})$/.exec(Buffer.from(cursor, "base64url").toString("utf8"));
  if (!match?.[1]) throw BadUserInputError.field("after", "is not a cursor from this list");
  return BigInt(match[1]);
}

/** The audit trail as its subjects see it. */
export class AuditService {
  constructor(private readonly prisma: Prisma) {}

  /** Records where the user acted or was acted upon, newest first, cursor-paginated. */
  async forUser(userId: string, first: number | null | undefined, after: string | null | undefined): Promise<AuditEventConnection> {
    const size = first ?? DEFAULT_PAGE;
    if (!Number.isInteger(size) || size < 1 || size > MAX_PAGE) throw BadUserInputError.field("first", `must be between 1 and ${MAX_PAGE}`);
    const before = after ? decodeCursor(after) : undefined;
    const rows = await this.prisma.auditEvent.findMany({
      where: { OR: [{ actorId: userId }, { subjectType: "user", subjectId: userId }], ...(before !== undefined ? { id: { lt: before } } : {}) },
      orderBy: { id: "desc" },
      take: size + 1,
    });
    const page = rows.slice(0, size);
    const edges = page.map((row) => ({
      cursor: encodeCursor(row.id),
      node: { id: row.id.toString(), action: row.action, outcome: row.outcome, occurredAt: row.occurredAt, ipAddress: row.ipAddress },
    }));
    return { edges, pageInfo: { hasNextPage: rows.length > size, endCursor: edges[edges.length - 1]?.cursor ?? null } };
  }
}
