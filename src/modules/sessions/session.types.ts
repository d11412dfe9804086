import { createUnionType, Field, ID, InputType, Int, ObjectType, registerEnumType } from "type-graphql";
import { User } from "../users";

@InputType()
export class LoginInput {
  @Field()
  email!: string;

  @Field()
  password!: string;

  @Field(() => String, { nullable: true })
  deviceName?: string | null;

  @Field(() => String, { nullable: true })
  deviceFingerprint?: string | null;

  @Field(() => Boolean, { nullable: true, description: "Long-lived session (90 days) instead of the short one." })
  rememberMe?: boolean | null;
}

@ObjectType({ description: "A login on one device." })
export class SessionInfo {
  @Field(() => ID)
  id!: string;

  @Field(() => String, { nullable: true })
  deviceName!: string | null;

  @Field(() => String, { nullable: true })
  userAgent!: string | null;

  @Field(() => String, { nullable: true })
  ipAddress!: string | null;

  @Field(() => String, { nullable: true })
  country!: string | null;

  @Field()
  createdAt!: Date;

  @Field()
  lastActiveAt!: Date;

  @Field()
  expiresAt!: Date;

  @Field({ description: "True for the session of the access token in use." })
  current!: boolean;
}

@ObjectType({ description: "A fresh access token for the current session (a step-up)." })
export class AccessTokenPayload {
  @Field()
  accessToken!: string;

  @Field()
  tokenType!: string;

  @Field(() => Int, { description: "Seconds until the access token expires." })
  expiresIn!: number;
}

@ObjectType()
export class AuthPayload {
  @Field()
  accessToken!: string;

  @Field()
  refreshToken!: string;

  @Field()
  tokenType!: string;

  @Field(() => Int, { description: "Seconds until the access token expires." })
  expiresIn!: number;

  @Field(() => SessionInfo)
  session!: SessionInfo;

  /** Loaded only when selected (a refresh usually asks for tokens alone). */
  @Field(() => User)
  user!: User | Promise<User>;
}

export enum MfaMethod {
  TOTP = "TOTP",
  BACKUP_CODE = "BACKUP_CODE",
}
registerEnumType(MfaMethod, { name: "MfaMethod" });

@ObjectType({ description: "Password accepted; a second factor is required (completeMfaLogin)." })
export class MfaChallenge {
  @Field()
  challengeToken!: string;

  @Field(() => [MfaMethod])
  methods!: MfaMethod[];

  @Field()
  expiresAt!: Date;
}

export const LoginResult = createUnionType({
  name: "LoginResult",
  types: () => [AuthPayload, MfaChallenge] as const,
  resolveType: (value) => ("accessToken" in value ? AuthPayload : MfaChallenge),
});
