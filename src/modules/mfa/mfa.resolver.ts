import { Arg, Authorized, Ctx, Mutation, Resolver } from "type-graphql";
import { signedIn } from "../../graphql/auth-checker";
import type { Context } from "../../graphql/context";
import { AccessTokenPayload, AuthPayload } from "../sessions";
import { BackupCodes, CompleteMfaLoginInput, DisableTotpInput, TotpSetup } from "./mfa.types";
import type { MfaService } from "./mfa.service";

const ENROLMENT = "recent-auth:900";

@Resolver()
export class MfaResolver {
  constructor(private readonly mfa: MfaService) {}

  // Enrolling an authenticator is a change of the account's recovery data: only within 15 minutes of
  // a login (SECURITY 4), so a token kept alive by refreshes cannot add its holder's authenticator.
  @Authorized(ENROLMENT)
  @Mutation(() => TotpSetup, { description: "A new TOTP secret, pending until enableTotp; replaces a pending one. Refused while TOTP is on, and more than 15 minutes after the login." })
  setupTotp(@Ctx() context: Context): Promise<TotpSetup> {
    return this.mfa.setupTotp(signedIn(context), context.origin);
  }

  @Authorized(ENROLMENT)
  @Mutation(() => BackupCodes, { description: "Turns TOTP on with a code of the pending secret; answers 10 single-use backup codes, shown once." })
  enableTotp(@Arg("code") code: string, @Ctx() context: Context): Promise<BackupCodes> {
    return this.mfa.enableTotp(signedIn(context), code, context.origin);
  }

  @Authorized()
  @Mutation(() => Boolean, { description: "Turns TOTP off; needs the password and a TOTP or backup code." })
  disableTotp(@Arg("input", () => DisableTotpInput) input: DisableTotpInput, @Ctx() context: Context): Promise<boolean> {
    return this.mfa.disableTotp(signedIn(context), input, context.origin);
  }

  @Authorized()
  @Mutation(() => BackupCodes, { description: "New backup codes for a TOTP or backup code; every old one stops working." })
  regenerateBackupCodes(@Arg("code") code: string, @Ctx() context: Context): Promise<BackupCodes> {
    return this.mfa.regenerateBackupCodes(signedIn(context), code, context.origin);
  }

  @Authorized()
  @Mutation(() => AccessTokenPayload, { description: "A fresh access token for the current session recording a second factor given now (amr otp, auth_time)." })
  stepUp(@Arg("code") code: string, @Ctx() context: Context): Promise<AccessTokenPayload> {
    return this.mfa.stepUp(signedIn(context), code, context.origin);
  }

  @Mutation(() => AuthPayload, { description: "Completes a login that answered MfaChallenge, with a TOTP code or an unused backup code." })
  completeMfaLogin(@Arg("input", () => CompleteMfaLoginInput) input: CompleteMfaLoginInput, @Ctx() context: Context): Promise<AuthPayload> {
    return this.mfa.completeMfaLogin(input, context.origin);
  }
}
