import { Arg, Ctx, FieldResolver, ID, Query, Resolver, Root } from "type-graphql";
import { UserStatus } from "../accounts/account.types";
import { BadUserInputError } from "../../graphql/errors";
import type { Context } from "../../graphql/context";
import { isUuid } from "./user.service";
import { User } from "./user.type";

@Resolver(() => User)
export class UserResolver {
  @Query(() => User, { nullable: true, description: "A user's public profile; null when there is none." })
  async user(@Arg("id", () => ID) id: string, @Ctx() context: Context): Promise<User | null> {
    if (!isUuid(id)) throw BadUserInputError.field("id", "must be a UUID");
    return context.loaders.user.load(id);
  }
}

/** Private fields: null unless the User was loaded for the user themself. */
@Resolver(() => User)
export class UserPrivateResolver {
  @FieldResolver(() => String, { nullable: true, description: "Visible to the user themself only." })
  email(@Root() user: User): string | null {
    return user.private?.email ?? null;
  }

  @FieldResolver(() => Boolean, { nullable: true, description: "Visible to the user themself only." })
  emailVerified(@Root() user: User): boolean | null {
    return user.private?.emailVerified ?? null;
  }

  @FieldResolver(() => UserStatus, { nullable: true, description: "Visible to the user themself only." })
  status(@Root() user: User): string | null {
    return user.private?.status ?? null;
  }
}
