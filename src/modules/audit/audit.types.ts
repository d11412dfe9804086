import { Field, ID, ObjectType } from "type-graphql";

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

@ObjectType()
export class AuditEventEdge {
  @Field()
  cursor!: string;

  @Field(() => AuditEventNode)
  node!: AuditEventNode;
}

@ObjectType()
export class PageInfo {
  @Field()
  hasNextPage!: boolean;

  @Field(() => String, { nullable: true })
  endCursor!: string | null;
}

@ObjectType()
export class AuditEventConnection {
  @Field(() => [AuditEventEdge])
  edges!: AuditEventEdge[];

  @Field(() => PageInfo)
  pageInfo!: PageInfo;
}
