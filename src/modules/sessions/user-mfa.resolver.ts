import DataLoader from "dataloader";
import { Ctx, FieldResolver, Resolver, Root } from "type-graphql";
import type { Context } from "../../graphql/context";
import type { LoaderFactory } from "../../graphql/loaders";
import { User } from "../users";

/** Until the MFA module (which replaces this resolver by its own) no user has a second factor. */
export const mfaEnabledByUser: LoaderFactory<string, boolean> = () => new DataLoader(async (ids) => ids.map(() => false));

/** The `User` field of the way in: whether a login needs a second factor. */
@Resolver(() => User)
export class UserMfaResolver {
  @FieldResolver(() => Boolean, { nullable: true, description: "Visible to the user themself only." })
  mfaEnabled(@Root() user: User, @Ctx() context: Context): Promise<boolean> | null {
    return user.private ? context.loaders.get(mfaEnabledByUser).load(user.id) : null;
  }
}
