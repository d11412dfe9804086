import { Arg, Authorized, Ctx, FieldResolver, ID, Mutation, Query, Resolver, Root } from "type-graphql";
import { signedIn } from "../../graphql/auth-checker";
import type { Context } from "../../graphql/context";
import type { LoaderFactory } from "../../graphql/loaders";
import { User } from "../users";
import type { AccountView, TradingAccountsService } from "./trading-accounts.service";
import {
  LinkTradingAccountInput,
  RotateTradingAccountCredentialsInput,
  ShareTradingAccountInput,
  TradingAccount,
  TradingAccountMember,
  TradingAccountSession,
  TradingAccountStatusReport,
  UpdateTradingAccountInput,
} from "./trading-accounts.types";

const SESSION_SCOPE = "scope:trading_accounts:session";

@Resolver(() => TradingAccount)
export class TradingAccountsResolver {
  constructor(
    private readonly accounts: TradingAccountsService,
    private readonly publicUsers: LoaderFactory<string, User | null>,
  ) {}

  @Authorized("perm:trading_accounts:link")
  @Mutation(() => TradingAccount, { description: "Links a Kite Connect account: the request token is exchanged, the profile read, the credentials sealed (never returned)." })
  linkTradingAccount(@Arg("input", () => LinkTradingAccountInput) input: LinkTradingAccountInput, @Ctx() context: Context): Promise<AccountView> {
    return this.accounts.link(signedIn(context), input, context.origin);
  }

  @Authorized()
  @Query(() => [TradingAccount], { description: "The accounts the caller owns or is a member of, with their role." })
  myTradingAccounts(@Ctx() context: Context): Promise<AccountView[]> {
    return this.accounts.mine(signedIn(context));
  }

  @Authorized()
  @Query(() => TradingAccount, { description: "An account the caller owns or is a member of; NOT_FOUND otherwise." })
  tradingAccount(@Arg("id", () => ID) id: string, @Ctx() context: Context): Promise<AccountView> {
    return this.accounts.get(signedIn(context), id);
  }

  @Authorized()
  @Mutation(() => TradingAccount, { description: "Renames it (the owner), or makes it the caller's default (any member)." })
  updateTradingAccount(@Arg("id", () => ID) id: string, @Arg("input", () => UpdateTradingAccountInput) input: UpdateTradingAccountInput, @Ctx() context: Context): Promise<AccountView> {
    return this.accounts.update(signedIn(context), id, input, context.origin);
  }

  @Authorized()
  @Mutation(() => Boolean, { description: "The owner unlinks it: the broker session is ended, the credentials shredded, the members removed." })
  unlinkTradingAccount(@Arg("id", () => ID) id: string, @Ctx() context: Context): Promise<boolean> {
    return this.accounts.unlink(signedIn(context), id, context.origin);
  }

  @Authorized()
  @Mutation(() => TradingAccount, { description: "Reads the broker profile with the stored session: ACTIVE, REAUTH_REQUIRED or INVALID_CREDENTIALS (owner and traders)." })
  verifyTradingAccount(@Arg("id", () => ID) id: string, @Ctx() context: Context): Promise<AccountView> {
    return this.accounts.verify(signedIn(context), id, context.origin);
  }

  @Authorized()
  @Mutation(() => TradingAccount, { description: "A new broker session from a new request token, after the daily expiry (the owner)." })
  renewTradingAccountSession(@Arg("id", () => ID) id: string, @Arg("requestToken") requestToken: string, @Ctx() context: Context): Promise<AccountView> {
    return this.accounts.renew(signedIn(context), id, requestToken, context.origin);
  }

  @Authorized()
  @Mutation(() => TradingAccount, { description: "New API key and secret, checked with the broker before they replace the old ones (the owner)." })
  rotateTradingAccountCredentials(@Arg("id", () => ID) id: string, @Arg("input", () => RotateTradingAccountCredentialsInput) input: RotateTradingAccountCredentialsInput, @Ctx() context: Context): Promise<AccountView> {
    return this.accounts.rotate(signedIn(context), id, input, context.origin);
  }

  @Authorized()
  @Query(() => TradingAccountStatusReport, { description: "The account's state, without calling the broker." })
  tradingAccountStatus(@Arg("id", () => ID) id: string, @Ctx() context: Context): Promise<TradingAccountStatusReport> {
    return this.accounts.status(signedIn(context), id);
  }

  @Authorized()
  @Mutation(() => TradingAccount, { description: "The owner shares it with a user (TRADER or VIEWER) by email; sharing again changes the role." })
  shareTradingAccount(@Arg("id", () => ID) id: string, @Arg("input", () => ShareTradingAccountInput) input: ShareTradingAccountInput, @Ctx() context: Context): Promise<AccountView> {
    return this.accounts.share(signedIn(context), id, input, context.origin);
  }

  @Authorized()
  @Mutation(() => Boolean, { description: "The owner removes a member; a member may remove themself." })
  removeTradingAccountMember(@Arg("id", () => ID) id: string, @Arg("userId", () => ID) userId: string, @Ctx() context: Context): Promise<boolean> {
    return this.accounts.removeMember(signedIn(context), id, userId, context.origin);
  }

  @Authorized(SESSION_SCOPE)
  @Query(() => TradingAccountSession, { description: "The broker API key and access token, for order services (service clients with trading_accounts:session); audited." })
  tradingAccountSession(@Arg("id", () => ID) id: string, @Ctx() context: Context): Promise<TradingAccountSession> {
    return this.accounts.session(context.client as NonNullable<Context["client"]>, id, context.origin);
  }

  @FieldResolver(() => [TradingAccountMember])
  async members(@Root() account: AccountView, @Ctx() context: Context): Promise<TradingAccountMember[]> {
    const users = await Promise.all(account.members.map((m) => context.loaders.get(this.publicUsers).load(m.userId)));
    return account.members.flatMap((m, i) => (users[i] ? [{ user: users[i] as User, role: m.role }] : []));
  }
}
