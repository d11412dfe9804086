import { Arg, Ctx, ID, Query, Resolver } from "type-graphql";
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
