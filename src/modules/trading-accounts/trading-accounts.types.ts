import { Field, ID, InputType, ObjectType, registerEnumType } from "type-graphql";
import { User } from "../users";
import type { TradingAccountRole } from "./access";

export const BrokerEnum = { KITE: "KITE" } as const;
registerEnumType(BrokerEnum, { name: "Broker" });
export const TradingAccountStatusEnum = { ACTIVE: "ACTIVE", REAUTH_REQUIRED: "REAUTH_REQUIRED", INVALID_CREDENTIALS: "INVALID_CREDENTIALS" } as const;
export type TradingAccountStatusName = keyof typeof TradingAccountStatusEnum;
registerEnumType(TradingAccountStatusEnum, { name: "TradingAccountStatus", description: "ACTIVE; REAUTH_REQUIRED (the broker session ended: renewTradingAccountSession); INVALID_CREDENTIALS (the broker refuses the key or secret: rotate them)." });
export const TradingAccountRoleEnum = { OWNER: "OWNER", TRADER: "TRADER", VIEWER: "VIEWER" } as const;
registerEnumType(TradingAccountRoleEnum, { name: "TradingAccountRole", description: "OWNER (linked it), TRADER (may place orders), VIEWER (may see it)." });

@ObjectType({ description: "What the broker says of the account holder, as last read." })
export class BrokerProfileSnapshot {
  @Field()
  userName!: string;

  @Field(() => String, { nullable: true })
  email!: string | null;

  @Field(() => [String])
  exchanges!: string[];

  @Field(() => [String])
  products!: string[];
}

@ObjectType()
export class TradingAccountMember {
  @Field(() => User)
  user!: User;

  @Field(() => TradingAccountRoleEnum)
  role!: TradingAccountRole;
}

@ObjectType({ description: "A linked brokerage account, as the caller may see it (never a credential)." })
export class TradingAccount {
  @Field(() => ID)
  id!: string;

  @Field(() => BrokerEnum)
  broker!: "KITE";

  @Field({ description: "The account holder's id at the broker (Kite user_id)." })
  brokerUserId!: string;

  @Field(() => String, { nullable: true })
  nickname!: string | null;

  @Field(() => TradingAccountStatusEnum)
  status!: TradingAccountStatusName;

  @Field()
  lastVerifiedAt!: Date;

  @Field(() => TradingAccountRoleEnum, { description: "The caller's role on it." })
  role!: TradingAccountRole;

  @Field({ description: "Whether it is the caller's default trading account (their preference)." })
  isDefault!: boolean;

  @Field(() => BrokerProfileSnapshot)
  profile!: BrokerProfileSnapshot;

  @Field(() => [TradingAccountMember], { description: "The owner and the members it is shared with." })
  members!: TradingAccountMember[];
}

@ObjectType({ description: "An account's state, answered without calling the broker." })
export class TradingAccountStatusReport {
  @Field(() => TradingAccountStatusEnum)
  status!: TradingAccountStatusName;

  @Field()
  lastVerifiedAt!: Date;

  @Field({ description: "When the broker session ends (Kite: 06:00 IST)." })
  sessionExpiresAt!: Date;

  @Field({ description: "false once the broker refused the key or secret." })
  credentialsValid!: boolean;
}

@ObjectType({ description: "The broker session for order services (scope trading_accounts:session); every answer is audited." })
export class TradingAccountSession {
  @Field()
  apiKey!: string;

  @Field()
  accessToken!: string;

  @Field()
  expiresAt!: Date;
}

@InputType()
export class LinkTradingAccountInput {
  @Field(() => BrokerEnum)
  broker!: "KITE";

  @Field()
  apiKey!: string;

  @Field()
  apiSecret!: string;

  @Field({ description: "What the broker's login redirect returned (single-use, valid for minutes)." })
  requestToken!: string;

  @Field(() => String, { nullable: true })
  nickname?: string | null;
}

@InputType()
export class RotateTradingAccountCredentialsInput {
  @Field()
  apiKey!: string;

  @Field()
  apiSecret!: string;

  @Field()
  requestToken!: string;
}

@InputType()
export class UpdateTradingAccountInput {
  @Field(() => String, { nullable: true })
  nickname?: string | null;

  @Field(() => Boolean, { nullable: true, description: "Makes it (or stops it being) the caller's default account." })
  isDefault?: boolean | null;
}

@InputType()
export class ShareTradingAccountInput {
  @Field()
  email!: string;

  @Field(() => TradingAccountRoleEnum, { description: "TRADER or VIEWER." })
  role!: TradingAccountRole;
}
