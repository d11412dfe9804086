import DataLoader from "dataloader";
import type { AccountsService } from "../modules/accounts/accounts.service";
import type { AuditService } from "../modules/audit/audit.service";
import type { PasswordsService } from "../modules/accounts/passwords.service";
import type { SessionsService } from "../modules/sessions/sessions.service";
import type { Origin } from "../platform/events/unit-of-work";
import type { Logger } from "../platform/logging/logger";
import type { UserService } from "../modules/users/user.service";
import type { User } from "../modules/users/user.type";

/** Who is calling, once authenticated. */
export interface Viewer {
  userId: string;
  sessionId: string;
  roles: string[];
}

export interface Loaders {
  /** Batches every user lookup of one request (entities, nested fields) into one query. */
  user: DataLoader<string, User | null>;
}

export interface Context {
  requestId: string;
  logger: Logger;
  viewer: Viewer | null;
  /** Who and where, for audit records and rate limits. */
  origin: Origin;
  /** Fires when the caller has gone before its answer (HTTP: the connection closed). */
  signal?: AbortSignal;
  loaders: Loaders;
  services: ContextServices;
}

export interface ContextServices {
  users: UserService;
  accounts: AccountsService;
  sessions: SessionsService;
  passwords: PasswordsService;
  audit: AuditService;
}

/** What the transport knows about the caller. */
export interface CallerInfo {
  ipAddress: string | null;
  userAgent: string | null;
  country: string | null;
}

export function createLoaders(services: ContextServices): Loaders {
  return { user: new DataLoader((ids) => services.users.findPublicByIds(ids), { maxBatchSize: 1000 }) };
}
