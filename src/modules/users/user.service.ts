import { sql } from "../../platform/db/database";
import type { SqlClient } from "../../platform/db/sql";
import { parseUuid } from "../../shared/ids";
import type { User } from "./user.type";

interface PublicRow {
  id: string;
  name: string | null;
  avatarUrl: string | null;
}

export function toPublicUser(row: PublicRow): User {
  const name = row.name?.trim();
  return { id: row.id, displayName: name ? name : "Member", avatarUrl: row.avatarUrl };
}

export interface UserRow extends PublicRow {
  email: string;
  emailVerifiedAt: Date | null;
  status: string;
  phone: string | null;
  locale: string;
  timezone: string;
  preferredCurrency: string;
  createdAt: Date;
  updatedAt: Date;
}

/** The columns of a `UserRow`, for statements that read one through pg (`RETURNING` too). */
export const USER_ROW_COLUMNS = sql`id, email::text, email_verified_at AS "emailVerifiedAt", status::text, name, phone, locale, timezone,
  preferred_currency AS "preferredCurrency", avatar_url AS "avatarUrl", created_at AS "createdAt", updated_at AS "updatedAt"`;

/** A User with the private part attached: only for the user themself. */
export function privateUser(row: UserRow, roles: string[]): User {
  return {
    ...toPublicUser(row),
    private: {
      email: row.email,
      emailVerified: row.emailVerifiedAt !== null,
      status: row.status,
      name: row.name,
      phone: row.phone,
      locale: row.locale,
      timezone: row.timezone,
      preferredCurrency: row.preferredCurrency,
      roles,
      createdAt: row.createdAt,
      updatedAt: row.updatedAt,
    },
  };
}

export class UserService {
  constructor(private readonly db: SqlClient) {}

  /**
   * Public views of users by id with ONE query: the result is in the order of `ids`, with `null`
   * for unknown, malformed and deleted ids. A prepared statement through pg: this is the router's
   * `_entities`, the hottest read of the subgraph.
   */
  async findPublicByIds(ids: readonly string[]): Promise<(User | null)[]> {
    const parsed = ids.map(parseUuid);
    const wanted = [...new Set(parsed.filter((id) => id !== null))];
    const rows =
      wanted.length === 0
        ? []
        : await this.db.query<PublicRow>(sql`SELECT id, name, avatar_url AS "avatarUrl" FROM users WHERE id = ANY(${wanted}::uuid[]) AND deleted_at IS NULL`);
    const byId = new Map(rows.map((row) => [row.id, toPublicUser(row)]));
    return parsed.map((id) => (id === null ? null : (byId.get(id) ?? null)));
  }
}
