import DataLoader from "dataloader";
import { Ctx, FieldResolver, Resolver, Root } from "type-graphql";
import type { Context } from "../../graphql/context";
import type { LoaderFactory } from "../../graphql/loaders";
import { User } from "../users";

/** Until a module gives the real status (MFA, through `sessions.api.useSecondFactorStatus`), no user has a second factor. */
export const noSecondFactor: LoaderFactory<string, boolean> = () => new DataLoader(async (ids) => ids.map(() => false));

/**
 * The `User` field of the way in: whether a login needs a second factor, for the user themself
 * only. The answer comes from the status source a module plugs in, so that module edits no file here.
 */
@Resolver(() => User)
export class UserMfaResolver {
  constructor(private readonly status: () => LoaderFactory<string, boolean>) {}

  @FieldResolver(() => Boolean, { nullable: true, description: "Visible to the user themself only." })
  mfaEnabled(@Root() user: User, @Ctx() context: Context): Promise<boolean> | null {
    return user.private ? context.loaders.get(this.status()).load(user.id) : null;
  }
}
