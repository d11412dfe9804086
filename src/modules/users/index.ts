import DataLoader from "dataloader";
import type { LoaderFactory } from "../../graphql/loaders";
import type { Kernel, Module } from "../module";
import { PersonalDataRegistry } from "./personal-data";
import { UserPrivateResolver, UserResolver } from "./user.resolver";
import { UserService } from "./user.service";
import type { User } from "./user.type";

export interface UsersApi {
  /** The request's batched lookup of public profiles by id (null for unknown ids). */
  publicUsers: LoaderFactory<string, User | null>;
  /** Modules join a person's data export and erasure here. */
  personalData: PersonalDataRegistry;
}

/** People as others see them: the `User` entity, its public profile and the private fields of one's own. */
export function usersModule(kernel: Pick<Kernel, "prisma">): Module<UsersApi> {
  const service = new UserService(kernel.prisma);
  const publicUsers: LoaderFactory<string, User | null> = () => new DataLoader((ids) => service.findPublicByIds(ids), { maxBatchSize: 1000 });
  return {
    name: "users",
    api: { publicUsers, personalData: new PersonalDataRegistry() },
    resolvers: [new UserResolver(publicUsers), new UserPrivateResolver()],
    entities: { User: (reference, context) => context.loaders.get(publicUsers).load(reference.id as string) },
  };
}

export type { PersonalDataPart, PersonalDataRegistry } from "./personal-data";
export { privateUser, type UserRow } from "./user.service";
export { User, UserStatus } from "./user.type";
