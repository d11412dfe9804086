import DataLoader from "dataloader";
import type { LoaderFactory } from "../../graphql/loaders";
import type { Kernel, Module } from "../module";
import { PersonalDataRegistry } from "./personal-data";
import { UserPrivateResolver, UserResolver } from "./user.resolver";
import { UserService, privateUser } from "./user.service";
import type { Viewer } from "../../graphql/context";
import type { User } from "./user.type";

/** Who may read another user's private fields (the authz module: holders of users:read), and the roles shown there. */
export interface PrivateReaders {
  may(viewer: Viewer): Promise<boolean>;
  rolesOf(userId: string): Promise<string[]>;
}

export interface UsersApi {
  /** The request's batched lookup of public profiles by id (null for unknown ids). */
  publicUsers: LoaderFactory<string, User | null>;
  /** Modules join a person's data export and erasure here. */
  personalData: PersonalDataRegistry;
  /** Given once (by the authz module); until then only the user themself reads their private fields. */
  usePrivateReaders(readers: PrivateReaders): void;
}

/** People as others see them: the `User` entity, its public profile and the private fields of one's own. */
export function usersModule(kernel: Pick<Kernel, "prisma" | "sql">): Module<UsersApi> {
  const service = new UserService(kernel.sql);
  const publicUsers: LoaderFactory<string, User | null> = () => new DataLoader((ids) => service.findPublicByIds(ids), { maxBatchSize: 1000 });
  let readers: PrivateReaders | null = null;
  const usePrivateReaders = (given: PrivateReaders) => {
    if (readers) throw new Error("the private readers are given twice");
    readers = given;
  };
  /** The user with private fields when the viewer may read them (SECURITY 40), else null. */
  const privateFor = async (viewer: Viewer | null, id: string): Promise<User | null> => {
    if (!viewer || !readers || !(await readers.may(viewer))) return null;
    const row = await kernel.prisma.user.findUnique({ where: { id } });
    return row && !row.deletedAt ? privateUser(row, await readers.rolesOf(id)) : null;
  };
  return {
    name: "users",
    api: { publicUsers, personalData: new PersonalDataRegistry(), usePrivateReaders },
    resolvers: [new UserResolver(publicUsers, privateFor), new UserPrivateResolver()],
    entities: { User: (references) => service.findPublicByIds(references.map((reference) => reference.id as string)) },
  };
}

export type { PersonalDataPart, PersonalDataRegistry } from "./personal-data";
export { USER_ROW_COLUMNS, privateUser, type UserRow } from "./user.service";
export { User, UserStatus } from "./user.type";
