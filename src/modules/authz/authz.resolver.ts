import { Arg, Authorized, Ctx, ID, Mutation, Query, Resolver } from "type-graphql";
import { callerOf, signedIn } from "../../graphql/auth-checker";
import type { Context } from "../../graphql/context";
import { User } from "../users";
import type { AuthzService } from "./authz.service";
import { CheckPermissionInput, EffectivePermission, GrantPermissionInput, PermissionDecision, PermissionGrant, Policy, PolicyInput } from "./authz.types";

/** Checks are for any signed-in user, and for service clients holding authz:check. */
const CHECK_USER = "signed-in";
const CHECK_CLIENT = "scope:authz:check";

@Resolver()
export class AuthzResolver {
  constructor(private readonly authz: AuthzService) {}

  @Authorized(CHECK_USER, CHECK_CLIENT)
  @Query(() => PermissionDecision, { description: "May this user (the caller unless userId; another user needs authz:read, a service client the authz:check scope and userId) do that?" })
  async checkPermission(@Arg("input", () => CheckPermissionInput) input: CheckPermissionInput, @Ctx() context: Context): Promise<PermissionDecision> {
    const [decision] = await this.authz.checkPermissions(callerOf(context), [input], context.origin);
    return decision as PermissionDecision;
  }

  @Authorized(CHECK_USER, CHECK_CLIENT)
  @Query(() => [PermissionDecision], { description: "Several checks in one call; the answers in the order asked." })
  checkPermissions(@Arg("inputs", () => [CheckPermissionInput]) inputs: CheckPermissionInput[], @Ctx() context: Context): Promise<PermissionDecision[]> {
    return this.authz.checkPermissions(callerOf(context), inputs, context.origin);
  }

  @Authorized()
  @Query(() => [EffectivePermission], { description: "The caller's permissions, each with where it comes from and until when." })
  myPermissions(@Ctx() context: Context): Promise<EffectivePermission[]> {
    return this.authz.myPermissions(signedIn(context));
  }

  @Authorized("perm:permissions:grant")
  @Mutation(() => PermissionGrant, { description: "Grants a permission to a user directly, until expiresAt." })
  grantPermission(@Arg("input", () => GrantPermissionInput) input: GrantPermissionInput, @Ctx() context: Context): Promise<PermissionGrant> {
    return this.authz.grantPermission(signedIn(context), input, context.origin);
  }

  @Authorized("perm:permissions:grant")
  @Mutation(() => Boolean, { description: "Revokes a direct grant." })
  revokePermission(@Arg("id", () => ID) id: string, @Ctx() context: Context): Promise<boolean> {
    return this.authz.revokePermission(signedIn(context), id, context.origin);
  }

  @Authorized("perm:roles:assign")
  @Mutation(() => User, { description: "Gives a user a role." })
  assignRole(@Arg("userId", () => ID) userId: string, @Arg("role") role: string, @Ctx() context: Context): Promise<User> {
    return this.authz.assignRole(signedIn(context), userId, role, context.origin);
  }

  @Authorized("perm:roles:assign")
  @Mutation(() => User, { description: "Takes a role from a user." })
  removeRole(@Arg("userId", () => ID) userId: string, @Arg("role") role: string, @Ctx() context: Context): Promise<User> {
    return this.authz.removeRole(signedIn(context), userId, role, context.origin);
  }

  @Authorized("perm:policies:write")
  @Mutation(() => Policy, { description: "Creates a policy; it applies at once on every instance." })
  createPolicy(@Arg("input", () => PolicyInput) input: PolicyInput, @Ctx() context: Context): Promise<Policy> {
    return this.authz.createPolicy(signedIn(context), input, context.origin);
  }

  @Authorized("perm:policies:write")
  @Mutation(() => Boolean, { description: "Deletes a policy." })
  deletePolicy(@Arg("id", () => ID) id: string, @Ctx() context: Context): Promise<boolean> {
    return this.authz.deletePolicy(signedIn(context), id, context.origin);
  }
}
