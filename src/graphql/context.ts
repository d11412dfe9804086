import DataLoader from "dataloader";
import type { Logger } from "../platform/logging/logger";
import type { UserService } from "../modules/users/user.service";
import type { User } from "../modules/users/user.type";

/** Who is calling, once authenticated. */
export interface Viewer {
  userId: string;
  sessionId: string;
}

export interface Loaders {
  /** Batches every user lookup of one request (entities, nested fields) into one query. */
  user: DataLoader<string, User | null>;
}

export interface Context {
  requestId: string;
  logger: Logger;
  viewer: Viewer | null;
  loaders: Loaders;
}

export interface ContextServices {
  users: UserService;
}

export function createLoaders(services: ContextServices): Loaders {
  return { user: new DataLoader((ids) => services.users.findPublicByIds(ids), { maxBatchSize: 1000 }) };
}
