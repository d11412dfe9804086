import { Field, InputType, ObjectType } from "type-graphql";

@ObjectType({ description: "A new TOTP secret, pending until enableTotp confirms it with a code. Shown this once." })
export class TotpSetup {
  @Field({ description: "The secret, base32 (for typing into an authenticator app)." })
  secret!: string;

  @Field({ description: "otpauth://totp/<issuer>:<email>?secret=…&issuer=…&algorithm=SHA1&digits=6&period=30" })
  otpauthUri!: string;

  @Field({ description: "A QR code of otpauthUri, as SVG." })
  qrCodeSvg!: string;
}

@ObjectType({ description: "Single-use backup codes, shown this once; each works once in place of a TOTP code." })
export class BackupCodes {
  @Field(() => [String])
  backupCodes!: string[];
}

@InputType()
export class CompleteMfaLoginInput {
  @Field({ description: "The login's MfaChallenge.challengeToken." })
  challengeToken!: string;

  @Field({ description: "A TOTP code, or an unused backup code." })
  code!: string;
}

@InputType()
export class DisableTotpInput {
  @Field()
  password!: string;

  @Field({ description: "A TOTP code, or an unused backup code." })
  code!: string;
}
