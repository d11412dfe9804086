import { Arg, Args, Authorized, Ctx, ID, Mutation, Query, Resolver } from "type-graphql";
import { signedIn } from "../../graphql/auth-checker";
import type { Context } from "../../graphql/context";
import { User } from "../users";
import type { AdminService } from "./admin.service";
import { AdminUsersArgs, UserConnection } from "./admin.types";

@Resolver()
export class AdminResolver {
  constructor(private readonly admin: AdminService) {}

  @Authorized("perm:users:read")
  @Query(() => UserConnection, { description: "Users matching the filter, newest first, with their private fields (administrators)." })
  adminUsers(@Args(() => AdminUsersArgs) { filter, first, after }: AdminUsersArgs): Promise<UserConnection> {
    return this.admin.users(filter, first, after);
  }

  @Authorized("perm:users:suspend")
  @Mutation(() => User, { description: "Suspends another user: every session ends at once and logins fail; the reason (at most 500 characters) is audited." })
  suspendUser(@Arg("id", () => ID) id: string, @Arg("reason") reason: string, @Ctx() context: Context): Promise<User> {
    return this.admin.suspend(signedIn(context), id, reason, context.origin);
  }

  @Authorized("perm:users:suspend")
  @Mutation(() => User, { description: "Lifts a suspension: the user may log in again." })
  reactivateUser(@Arg("id", () => ID) id: string, @Ctx() context: Context): Promise<User> {
    return this.admin.reactivate(signedIn(context), id, context.origin);
  }
}
