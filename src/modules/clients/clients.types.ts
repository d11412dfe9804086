import { Field, ID, InputType, ObjectType } from "type-graphql";

@ObjectType({ description: "A service that calls with its own credentials (OAuth 2.0 client credentials, POST /oauth/token)." })
export class ServiceClient {
  @Field(() => ID)
  id!: string;

  @Field({ description: "The public client_id it authenticates with." })
  clientId!: string;

  @Field()
  name!: string;

  @Field(() => [String], { description: "What its tokens may carry (`<domain>:<action>`)." })
  scopes!: string[];

  @Field(() => Date)
  createdAt!: Date;

  @Field(() => Date, { nullable: true })
  secretRotatedAt!: Date | null;

  @Field(() => Date, { nullable: true })
  disabledAt!: Date | null;
}

@ObjectType({ description: "A service client and its secret, shown this once (only a hash is kept)." })
export class ServiceClientCredentials {
  @Field(() => ServiceClient)
  client!: ServiceClient;

  @Field({ description: "256 bits, base64url: the client_secret of POST /oauth/token." })
  clientSecret!: string;
}

@InputType()
export class CreateServiceClientInput {
  @Field()
  name!: string;

  @Field(() => [String], { description: "1 to 50 scopes, `<domain>:<action>` (`authz:check`, `trading_accounts:session`)." })
  scopes!: string[];
}
