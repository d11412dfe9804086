import { Arg, Ctx, Mutation, Resolver } from "type-graphql";
import type { Context } from "../../graphql/context";
import { User } from "../users/user.type";
import { UnauthenticatedError } from "../../graphql/errors";
import { ChangePasswordInput, RegisterInput, RegisterPayload, ResetPasswordInput, UpdateProfileInput } from "./account.types";

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

  @Mutation(() => Boolean, { description: "Changes the caller's password; the current one is required." })
  changePassword(@Arg("input", () => ChangePasswordInput) input: ChangePasswordInput, @Ctx() context: Context): Promise<boolean> {
    if (!context.viewer) throw new UnauthenticatedError();
    return context.services.passwords.changePassword(context.viewer, input, context.origin);
  }

  @Mutation(() => Boolean, { description: "Emails a reset link if the account exists. Always true." })
  requestPasswordReset(@Arg("email") email: string, @Ctx() context: Context): Promise<boolean> {
    return context.services.passwords.requestPasswordReset(email, context.origin);
  }

  @Mutation(() => Boolean, { description: "Sets a new password with a reset token and ends every session. Does not log in." })
  resetPassword(@Arg("input", () => ResetPasswordInput) input: ResetPasswordInput, @Ctx() context: Context): Promise<boolean> {
    return context.services.passwords.resetPassword(input, context.origin);
  }

  @Mutation(() => User, { description: "Changes the caller's profile and preferences." })
  updateProfile(@Arg("input", () => UpdateProfileInput) input: UpdateProfileInput, @Ctx() context: Context): Promise<User> {
    if (!context.viewer) throw new UnauthenticatedError();
    return context.services.accounts.updateProfile(context.viewer, input, context.origin);
  }
}
