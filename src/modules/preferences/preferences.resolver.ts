import { Arg, Authorized, Ctx, Mutation, Query, Resolver } from "type-graphql";
import { signedIn } from "../../graphql/auth-checker";
import type { Context } from "../../graphql/context";
import type { PreferencesService } from "./preferences.service";
import { Preferences, UpdatePreferencesInput } from "./preferences.types";

@Resolver()
export class PreferencesResolver {
  constructor(private readonly preferences: PreferencesService) {}

  @Authorized()
  @Query(() => Preferences, { description: "The caller's preferences (the defaults for what they never set)." })
  myPreferences(@Ctx() context: Context): Promise<Preferences> {
    return this.preferences.of(signedIn(context).userId);
  }

  @Authorized()
  @Mutation(() => Preferences, { description: "Changes the caller's preferences: fields left out keep their value; watchlists replace the lists; notifications are set per channel and topic." })
  updatePreferences(@Arg("input", () => UpdatePreferencesInput) input: UpdatePreferencesInput, @Ctx() context: Context): Promise<Preferences> {
    return this.preferences.update(signedIn(context), input, context.origin);
  }
}
