import { Arg, Authorized, Ctx, Mutation, Resolver } from "type-graphql";
import { signedIn } from "../../graphql/auth-checker";
import type { Context } from "../../graphql/context";
import { User } from "../users";
import { ChangePasswordInput, RegisterInput, RegisterPayload, ResetPasswordInput, UpdateProfileInput } from "./account.types";
import type { AccountsService } from "./accounts.service";
import type { PasswordsService } from "./passwords.service";

@Resolver()
export class AccountsResolver {
  constructor(
    private readonly accounts: AccountsService,
    private readonly passwords: PasswordsService,
  ) {}

  @Mutation(() => RegisterPayload, { description: "Creates an account, or tells the owner of a taken email; the answer is the same." })
  register(@Arg("input", () => RegisterInput) input: RegisterInput, @Ctx() context: Context): Promise<RegisterPayload> {
    return this.accounts.register(input, context.origin);
  }

  @Mutation(() => User, { description: "Confirms an email address with the token of the verification link." })
  verifyEmail(@Arg("token") token: string, @Ctx() context: Context): Promise<User> {
    return this.accounts.verifyEmail(token, context.origin);
  }

  @Mutation(() => Boolean, { description: "Sends a new verification link if the account waits for one. Always true." })
  resendVerificationEmail(@Arg("email") email: string, @Ctx() context: Context): Promise<boolean> {
    return this.accounts.resendVerificationEmail(email, context.origin);
  }

  @Authorized()
  @Mutation(() => Boolean, { description: "Changes the caller's password; the current one is required." })
  changePassword(@Arg("input", () => ChangePasswordInput) input: ChangePasswordInput, @Ctx() context: Context): Promise<boolean> {
    return this.passwords.changePassword(signedIn(context), input, context.origin);
  }

  @Mutation(() => Boolean, { description: "Emails a reset link if the account exists. Always true." })
  requestPasswordReset(@Arg("email") email: string, @Ctx() context: Context): Promise<boolean> {
    return this.passwords.requestPasswordReset(email, context.origin);
  }

  @Mutation(() => Boolean, { description: "Sets a new password with a reset token and ends every session. Does not log in." })
  resetPassword(@Arg("input", () => ResetPasswordInput) input: ResetPasswordInput, @Ctx() context: Context): Promise<boolean> {
    return this.passwords.resetPassword(input, context.origin);
  }

  @Authorized()
  @Mutation(() => User, { description: "Changes the caller's profile and preferences." })
  updateProfile(@Arg("input", () => UpdateProfileInput) input: UpdateProfileInput, @Ctx() context: Context): Promise<User> {
    return this.accounts.updateProfile(signedIn(context), input, context.origin);
  }
}
