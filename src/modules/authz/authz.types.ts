import { GraphQLJSON } from "graphql-scalars";
import { Field, ID, InputType, Int, ObjectType, registerEnumType } from "type-graphql";

export enum PolicyEffect {
  ALLOW = "ALLOW",
  DENY = "DENY",
}
registerEnumType(PolicyEffect, { name: "PolicyEffect" });

@ObjectType({ description: "An authorization decision and the rule that made it (never anything secret)." })
export class PermissionDecision {
  @Field()
  allowed!: boolean;

  @Field({ description: "What decided: `role trader grants market:read`, `policy freeze-reports denies`, `no rule allows users:suspend`." })
  reason!: string;
}

@InputType()
export class ResourceInput {
  @Field()
  type!: string;

  @Field(() => ID, { nullable: true })
  id?: string | null;

  @Field(() => GraphQLJSON, { nullable: true, description: "Attributes a policy condition may read (`resource.attributes`)." })
  attributes?: Record<string, unknown> | null;
}

@InputType()
export class CheckPermissionInput {
  @Field()
  permission!: string;

  @Field(() => ID, { nullable: true, description: "Whose permission; the caller when omitted." })
  userId?: string | null;

  @Field(() => ResourceInput, { nullable: true })
  resource?: ResourceInput | null;

  @Field(() => GraphQLJSON, { nullable: true, description: "What the asking service knows of the request (`context.input`)." })
  context?: Record<string, unknown> | null;
}

@ObjectType()
export class EffectivePermission {
  @Field()
  permission!: string;

  @Field({ description: "`role:<name>` or `grant`." })
  source!: string;

  @Field(() => Date, { nullable: true })
  expiresAt!: Date | null;
}

@InputType()
export class GrantPermissionInput {
  @Field(() => ID)
  userId!: string;

  @Field()
  permission!: string;

  @Field(() => Date, { nullable: true })
  expiresAt?: Date | null;

  @Field(() => String, { nullable: true })
  reason?: string | null;
}

@ObjectType()
export class PermissionGrant {
  @Field(() => ID)
  id!: string;

  @Field(() => ID)
  userId!: string;

  @Field()
  permission!: string;

  @Field(() => Date, { nullable: true })
  expiresAt!: Date | null;

  @Field(() => String, { nullable: true })
  reason!: string | null;
}

@InputType()
export class PolicyInput {
  @Field()
  name!: string;

  @Field(() => String, { nullable: true })
  description?: string | null;

  @Field(() => PolicyEffect)
  effect!: PolicyEffect;

  @Field(() => Int, { nullable: true })
  priority?: number | null;

  @Field(() => [String], { description: "`role:<name>`, `user:<id>`, `client:<clientId>` or `*`." })
  subjects!: string[];

  @Field(() => [String], { description: "Permission names, `*` a wildcard per segment (`trading:*`)." })
  actions!: string[];

  @Field(() => [String], { nullable: true, description: "`<type>:<id>` patterns (`trading_account:*`); every resource when omitted." })
  resources?: string[] | null;

  @Field(() => String, { nullable: true, description: "A Cedar expression: the body of a `when { … }` clause." })
  condition?: string | null;
}

@ObjectType()
export class Policy {
  @Field(() => ID)
  id!: string;

  @Field()
  name!: string;

  @Field(() => String, { nullable: true })
  description!: string | null;

  @Field(() => PolicyEffect)
  effect!: PolicyEffect;

  @Field(() => Int)
  priority!: number;

  @Field(() => [String])
  subjects!: string[];

  @Field(() => [String])
  actions!: string[];

  @Field(() => [String])
  resources!: string[];

  @Field(() => String, { nullable: true })
  condition!: string | null;

  @Field(() => Int)
  version!: number;
}
