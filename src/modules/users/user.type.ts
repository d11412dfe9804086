import { Directive, Field, ID, ObjectType, registerEnumType } from "type-graphql";

export enum UserStatus {
  PENDING_VERIFICATION = "PENDING_VERIFICATION",
  ACTIVE = "ACTIVE",
  SUSPENDED = "SUSPENDED",
  DELETED = "DELETED",
}
registerEnumType(UserStatus, { name: "UserStatus" });

/**
 * A person, as other subgraphs see them: the federation entity. Only public fields live here;
 * private fields are added by later modules and are visible only to the user themself.
 */
@Directive('@key(fields: "id")')
@ObjectType({ description: "A person known to the platform." })
export class User {
  @Field(() => ID)
  id!: string;

  @Field({ description: "Name to show to others: the user's name, or a neutral placeholder." })
  displayName!: string;

  @Field(() => String, { nullable: true, description: "https URL of the user's avatar." })
  avatarUrl!: string | null;

  /** What only the user themself may see; absent for everyone else (resolved by UserPrivateResolver). */
  private?: PrivateProfile;
}

/** A user's own data, attached to a User only for a caller entitled to it. */
export interface PrivateProfile {
  email: string;
  emailVerified: boolean;
  status: string;
  name: string | null;
  phone: string | null;
  locale: string;
  timezone: string;
  preferredCurrency: string;
  roles: string[];
  createdAt: Date;
  updatedAt: Date;
}
