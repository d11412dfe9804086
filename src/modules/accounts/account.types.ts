import { Field, InputType, ObjectType, registerEnumType } from "type-graphql";

export enum RegistrationStatus {
  VERIFICATION_EMAIL_SENT = "VERIFICATION_EMAIL_SENT",
}
registerEnumType(RegistrationStatus, { name: "RegistrationStatus", description: "What happened to a registration (the same whether or not the email was taken)." });

/** The profile fields a user sets at registration and may change later. */
@InputType()
abstract class ProfileFields {
  @Field(() => String, { nullable: true })
  name?: string | null;

  @Field(() => String, { nullable: true, description: "BCP 47 language tag" })
  locale?: string | null;

  @Field(() => String, { nullable: true, description: "IANA time zone" })
  timezone?: string | null;

  @Field(() => String, { nullable: true, description: "ISO 4217 currency code" })
  preferredCurrency?: string | null;
}

@InputType()
export class RegisterInput extends ProfileFields {
  @Field()
  email!: string;

  @Field()
  password!: string;
}

@ObjectType()
export class RegisterPayload {
  @Field(() => RegistrationStatus)
  status!: RegistrationStatus;
}

@InputType()
export class ChangePasswordInput {
  @Field()
  currentPassword!: string;

  @Field()
  newPassword!: string;

  @Field(() => Boolean, { nullable: true, description: "End every other session of the user." })
  signOutOtherSessions?: boolean | null;
}

@InputType()
export class ResetPasswordInput {
  @Field()
  token!: string;

  @Field()
  newPassword!: string;
}

@InputType({ description: "Only the fields given change; an empty string clears name, avatarUrl or phone." })
export class UpdateProfileInput extends ProfileFields {
  @Field(() => String, { nullable: true, description: "https URL" })
  avatarUrl?: string | null;

  @Field(() => String, { nullable: true, description: "E.164" })
  phone?: string | null;
}
