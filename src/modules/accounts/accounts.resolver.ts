import { Arg, Ctx, Mutation, Resolver } from "type-graphql";
import type { Context } from "../../graphql/context";
import { User } from "../users/user.type";
import { RegisterInput, RegisterPayload } from "./account.types";

@Resolver()
export class AccountsResolver {
  @Mutation(() => RegisterPayload, { description: "Creates an account, or tells the owner of a taken email; the answer is the same." })
  register(@Arg("input", () => RegisterInput) input: RegisterInput, @Ctx() context: Context): Promise<RegisterPayload> {
    return context.services.accounts.register(input, context.origin);
  }

  @Mutation(() => User, { description: "Confirms an email address with the token of the verification link." })
  verifyEmail(@Arg("token") token: string, @Ctx() context: Context): Promise<User> {
    return context.services.accounts.verifyEmail(token, context.origin);
  }

  @Mutation(() => Boolean, { description: "Sends a new verification link if the account waits for one. Always true." })
  resendVerificationEmail(@Arg("email") email: string, @Ctx() context: Context): Promise<boolean> {
    return context.services.accounts.resendVerificationEmail(email, context.origin);
  }
}
