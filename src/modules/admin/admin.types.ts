import { ArgsType, Field, InputType } from "type-graphql";
import { PageArgs, connectionType, type Connection } from "../../graphql/connection";
import { User, UserStatus } from "../users";

@InputType({ description: "Which users: every field given must match." })
export class AdminUserFilter {
  @Field(() => String, { nullable: true, description: "A prefix of the email address, in any case." })
  email?: string | null;

  @Field(() => UserStatus, { nullable: true })
  status?: UserStatus | null;

  @Field(() => String, { nullable: true, description: "Users holding this role." })
  role?: string | null;

  @Field(() => Date, { nullable: true, description: "Accounts created after this instant." })
  createdAfter?: Date | null;

  @Field(() => Date, { nullable: true, description: "Accounts created before this instant." })
  createdBefore?: Date | null;
}

@ArgsType()
export class AdminUsersArgs extends PageArgs {
  @Field(() => AdminUserFilter, { nullable: true })
  filter?: AdminUserFilter | null;
}

export const UserConnection = connectionType("User", User);
export type UserConnection = Connection<User>;
