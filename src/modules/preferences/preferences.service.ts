import type { Viewer } from "../../graphql/context";
import { sql, type Tx } from "../../platform/db/database";
import type { NotificationScreen } from "../../platform/events/notifications";
import type { Origin, WorkScope } from "../../platform/events/unit-of-work";
import { BadUserInputError } from "../../shared/errors";
import type { Kernel } from "../module";
import { preferencesChange } from "./preferences.input";
import { DEFAULT_PREFERENCES, PREFERENCE_FIELDS, emailWanted, mergeChoices, notificationMatrix, type NotificationChoice, type StoredPreferences, type Watchlist } from "./preferences.model";
import type { Preferences, UpdatePreferencesInput } from "./preferences.types";

export type PreferencesServiceDeps = Pick<Kernel, "prisma" | "unitOfWork" | "clock"> & {
  /** What the user is to a trading account (the trading-accounts module's roleOf): null when they may not see it. */
  tradingAccountRole: (userId: string, accountId: string) => Promise<string | null>;
};

interface Row {
  theme: StoredPreferences["theme"];
  defaultTradingAccountId: string | null;
  watchlists: Watchlist[];
  notifications: NotificationChoice[];
}

/** A stored row as the model's values, rebuilt so that equal preferences compare equal (jsonb reorders keys). */
function stored(row: Row | null | undefined): StoredPreferences {
  if (!row) return DEFAULT_PREFERENCES;
  return {
    theme: row.theme,
    defaultTradingAccountId: row.defaultTradingAccountId,
    watchlists: row.watchlists.map(({ name, symbols }) => ({ name, symbols })),
    notifications: row.notifications.map(({ channel, topic, enabled }) => ({ channel, topic, enabled })),
  };
}

const notVisible = () => BadUserInputError.field("input.defaultTradingAccountId", "names no trading account you own or were given access to");

/** Preferences of a user: read with their defaults, merged on update, and the notifications they turned off. */
export class PreferencesService {
  constructor(private readonly deps: PreferencesServiceDeps) {}

  /** The user's preferences as they see them: the defaults for what they never set. */
  async of(userId: string): Promise<Preferences> {
    const row = await this.deps.prisma.userPreferences.findUnique({ where: { userId }, select: { theme: true, defaultTradingAccountId: true, watchlists: true, notifications: true } });
    const preferences = stored(row as Row | null);
    return {
      theme: preferences.theme,
      defaultTradingAccountId: await this.visible(userId, preferences.defaultTradingAccountId),
      watchlists: preferences.watchlists,
      notifications: notificationMatrix(preferences.notifications),
    };
  }

  /** Merges the input over the stored preferences (a field left out keeps its value). */
  async update(viewer: Viewer, input: UpdatePreferencesInput, origin: Origin): Promise<Preferences> {
    const change = preferencesChange(input);
    const accountId = change.defaultTradingAccountId;
    if (accountId && !(await this.deps.tradingAccountRole(viewer.userId, accountId))) throw notVisible();
    try {
      await this.deps.unitOfWork.run(origin, async (scope) => {
        const current = await this.locked(scope.tx, viewer.userId);
        const notifications = change.notifications ? mergeChoices(current.notifications, change.notifications) : current.notifications;
        await this.write(scope, viewer.userId, current, { ...current, ...change, notifications });
      });
    } catch (error) {
      // The account was unlinked between the check and the write.
      if ((error as { code?: string }).code === "P2003") throw notVisible();
      throw error;
    }
    return this.of(viewer.userId);
  }

  /** Sets (or clears) the default account inside the caller's unit of work; the caller checked the user may see it. */
  async setDefaultTradingAccount(scope: WorkScope, userId: string, accountId: string | null): Promise<void> {
    const current = await this.locked(scope.tx, userId);
    await this.write(scope, userId, current, { ...current, defaultTradingAccountId: accountId });
  }

  /** Each user's default account, in order: null when none is set or they may no longer see it. */
  async defaultTradingAccountOf(userIds: readonly string[]): Promise<(string | null)[]> {
    const rows = await this.deps.prisma.userPreferences.findMany({ where: { userId: { in: [...userIds] }, defaultTradingAccountId: { not: null } }, select: { userId: true, defaultTradingAccountId: true } });
    const visible = new Map(await Promise.all(rows.map(async (row) => [row.userId, await this.visible(row.userId, row.defaultTradingAccountId)] as const)));
    return userIds.map((id) => visible.get(id) ?? null);
  }

  /**
   * Stops the emails whose recipient, a user, turned EMAIL off for the template's topic (or never
   * turned on an opt-in one). One query per batch, in the relay's transaction. A recipient who is
   * no user has no preferences: their mail goes.
   */
  readonly screen: NotificationScreen = async (notifications, query) => {
    const recipients = JSON.stringify(notifications.map(({ id, to }) => ({ id, email: to })));
    const rows = await query<{ id: string; notifications: NotificationChoice[] | null }>(sql`
      SELECT n.id::text AS id, p.notifications
      FROM jsonb_to_recordset(${recipients}::jsonb) AS n(id uuid, email citext)
      JOIN users u ON u.email = n.email
      LEFT JOIN user_preferences p ON p.user_id = u.id`);
    const topics = new Map(notifications.map((n) => [n.id, n.topic]));
    const unwanted = new Map<string, string>();
    for (const row of rows) {
      const topic = topics.get(row.id);
      if (topic && !emailWanted(row.notifications ?? [], topic)) unwanted.set(row.id, `the recipient's preferences turn EMAIL off for ${topic}`);
    }
    return unwanted;
  };

  private async visible(userId: string, accountId: string | null): Promise<string | null> {
    return accountId && (await this.deps.tradingAccountRole(userId, accountId)) ? accountId : null;
  }

  /** The user's row, created with the defaults if absent, locked until the unit of work ends (concurrent updates merge in turn). */
  private async locked(tx: Tx, userId: string): Promise<StoredPreferences> {
    const [row] = await tx.$queryRaw<Row[]>`
      INSERT INTO user_preferences (user_id, updated_at) VALUES (${userId}::uuid, ${this.deps.clock.now()})
      ON CONFLICT (user_id) DO UPDATE SET user_id = EXCLUDED.user_id
      RETURNING theme, default_trading_account_id::text AS "defaultTradingAccountId", watchlists, notifications`;
    return stored(row);
  }

  /** Writes `next` if it differs from `current`, with its event and audit record naming the fields that changed. */
  private async write(scope: WorkScope, userId: string, current: StoredPreferences, next: StoredPreferences): Promise<void> {
    const fields = PREFERENCE_FIELDS.filter((field) => JSON.stringify(current[field]) !== JSON.stringify(next[field]));
    if (fields.length === 0) return;
    await scope.tx.userPreferences.update({
      where: { userId },
      data: { theme: next.theme, defaultTradingAccountId: next.defaultTradingAccountId, watchlists: next.watchlists, notifications: next.notifications, updatedAt: this.deps.clock.now() },
    });
    scope.publish("user.preferences.updated", userId, { fields });
    scope.audit({ action: "user.update_preferences", subjectType: "user", subjectId: userId, metadata: { fields } });
  }
}
