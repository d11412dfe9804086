import { ArgsType, Field, ID, InputType, ObjectType } from "type-graphql";
import { PageArgs, connectionType, type Connection } from "../../graphql/connection";

@ObjectType({ description: "An audited action." })
export class AuditEventNode {
  @Field(() => ID)
  id!: string;

  @Field()
  action!: string;

  @Field()
  outcome!: string;

  @Field()
  occurredAt!: Date;

  @Field(() => String, { nullable: true })
  ipAddress!: string | null;
}

export const AuditEventConnection = connectionType("AuditEvent", AuditEventNode);
export type AuditEventConnection = Connection<AuditEventNode>;

@InputType({ description: "Which audit records: every field given must match." })
export class AuditEventFilter {
  @Field(() => ID, { nullable: true, description: "Records where this user acted or was acted upon (myAuditEvents: only the caller)." })
  userId?: string | null;

  @Field(() => String, { nullable: true, description: "The action exactly, e.g. `user.login`." })
  action?: string | null;

  @Field(() => String, { nullable: true, description: "`success`, `failure` or `denied`." })
  outcome?: string | null;

  @Field(() => Date, { nullable: true, description: "Records at or after this instant." })
  from?: Date | null;

  @Field(() => Date, { nullable: true, description: "Records before this instant." })
  to?: Date | null;
}

@ArgsType()
export class AuditEventsArgs extends PageArgs {
  @Field(() => AuditEventFilter, { nullable: true })
  filter?: AuditEventFilter | null;
}
