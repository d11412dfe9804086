import type { AuthCheckerFn } from "type-graphql";
import type { Clock } from "../platform/clock";
import type { ClientCaller, Context, Viewer } from "./context";
import { ForbiddenError, UnauthenticatedError } from "../shared/errors";
import { parseUuid } from "../shared/ids";

/**
 * What a resolver requires, declared with `@Authorized(...)`: nothing more than a signed-in user
 * (`@Authorized()`, or `signed-in` beside other requirements), or requirements as data
 * (`perm:<name>`, `recent-mfa:<seconds>`, `recent-auth:<seconds>`) that users must meet, and
 * `scope:<name>` that service clients must hold. `perm-unless-self:<name>` is `perm:<name>` when the
 * field's `userId` argument names another user, and met without it for the viewer's own (checked
 * before a subscription starts and again for every event it delivers).
 */
export type Requirement = "signed-in" | `perm:${string}` | `perm-unless-self:${string}` | `recent-mfa:${number}` | `recent-auth:${number}` | ScopeRequirement;
export type ScopeRequirement = `scope:${string}`;

/** A module's decision of a user's requirement (`perm:`). */
export type RequirementCheck = (viewer: Viewer, requirement: Requirement) => boolean | Promise<boolean>;
/** A module's decision of a scope a service client's token holds (it may still refuse it: a DENY policy on the client). */
export type ScopeCheck = (client: ClientCaller, requirement: ScopeRequirement) => boolean | Promise<boolean>;

/** The requirement kinds modules decide, each by one module. */
export interface RequirementDeciders {
  perm?: RequirementCheck;
  scope?: ScopeCheck;
}

const isScope = (requirement: Requirement): requirement is ScopeRequirement => requirement.startsWith("scope:");

/**
 * `recent-mfa:<seconds>`: the viewer's token records a second factor (`amr` has `otp`) given at
 * most that many seconds ago (`auth_time`, set by an MFA login or a step-up). `recent-auth:<seconds>`:
 * the user authenticated (logged in, or stepped up) at most that long ago, whatever the factors:
 * a token refreshed for hours keeps its session's `auth_time` (SECURITY 4, re-authentication).
 */
export function recentAuthentication(viewer: Viewer, requirement: Requirement, clock: Clock): boolean {
  const [kind, limit] = requirement.split(":");
  const seconds = Number(limit);
  const age = clock.now().getTime() / 1000 - viewer.authTime;
  return Number.isFinite(seconds) && age <= seconds && (kind === "recent-auth" || viewer.amr.includes("otp"));
}

/**
 * type-graphql's auth checker, throwing the house's own errors. Anonymous is UNAUTHENTICATED.
 * A user must meet every requirement but the `scope:` ones (`signed-in` is met by any user); a field
 * whose only requirements are scopes is for service clients, and FORBIDDEN to users. A service
 * client passes only a field listing at least one `scope:` requirement, holding every one of them
 * (in its token, and not refused by the module deciding `scope`), and is FORBIDDEN anywhere else.
 * An unmet requirement is FORBIDDEN naming it. `recent-mfa:` and `recent-auth:` are decided from
 * the token's claims, `perm:` by the module deciding it; a requirement nobody decides is unmet (fail closed).
 */
export function createAuthChecker(clock: Clock, decide: RequirementDeciders = {}, refused?: RefusalRecorder): AuthCheckerFn<Context, Requirement> {
  const check = checkRequirements(clock, decide);
  return async (data, requirements) => {
    try {
      return await check(data, requirements);
    } catch (error) {
      // A known caller refused (SECURITY 60); an anonymous one is not recorded, so that anyone cannot fill the audit trail.
      if (error instanceof ForbiddenError) refused?.(data.context, data.info.fieldName, error.message);
      throw error;
    }
  };
}

/** Records a refusal at the edge: the caller (in `context.origin`), the field and why. */
export type RefusalRecorder = (context: Context, field: string, reason: string) => void;

function checkRequirements(clock: Clock, decide: RequirementDeciders): AuthCheckerFn<Context, Requirement> {
  const decidePerm = async (viewer: Viewer, requirement: Requirement, args: Record<string, unknown>): Promise<boolean> => {
    if (!decide.perm) return false;
    if (!requirement.startsWith("perm-unless-self:")) return decide.perm(viewer, requirement);
    const target = args.userId;
    // Ids in any case are one id (parseUuid): the viewer's own in capitals is still their own.
    return target === undefined || target === null || (typeof target === "string" && parseUuid(target) === viewer.userId) || decide.perm(viewer, `perm:${requirement.slice("perm-unless-self:".length)}`);
  };
  return async ({ context, args }, requirements) => {
    const scopes = requirements.filter(isScope);
    if (context.client) {
      if (scopes.length === 0) throw new ForbiddenError("Not allowed to service clients");
      for (const requirement of scopes) {
        const held = context.client.scopes.includes(requirement.slice("scope:".length)) && (await (decide.scope?.(context.client, requirement) ?? true));
        if (!held) throw new ForbiddenError(`Requires ${requirement}`);
      }
      return true;
    }
    const viewer = context.viewer;
    if (!viewer) throw new UnauthenticatedError();
    const others = requirements.filter((requirement) => !isScope(requirement));
    if (scopes.length > 0 && others.length === 0) throw new ForbiddenError("Only service clients may use this field");
    for (const requirement of others) {
      const met =
        requirement === "signed-in" ||
        (requirement.startsWith("recent-") ? recentAuthentication(viewer, requirement, clock) : requirement.startsWith("perm") ? await decidePerm(viewer, requirement, args) : false);
      if (!met) throw new ForbiddenError(`Requires ${requirement}`);
    }
    return true;
  };
}

/** The viewer of a resolver that only users pass (`@Authorized()`, `perm:`…; the checker has run). */
export function signedIn(context: Context): Viewer {
  if (!context.viewer) throw new UnauthenticatedError();
  return context.viewer;
}

/** The caller of a resolver that users and service clients may both pass (`"signed-in", "scope:…"`). */
export function callerOf(context: Context): { viewer: Viewer } | { client: ClientCaller } {
  if (context.client) return { client: context.client };
  return { viewer: signedIn(context) };
}

/** The modules' decisions, by the requirement's kind; a kind decided by two modules is refused. */
export function requirementChecks(deciders: readonly (RequirementDeciders | undefined)[]): RequirementDeciders {
  const merged: RequirementDeciders = {};
  for (const decides of deciders) {
    for (const kind of Object.keys(decides ?? {}) as (keyof RequirementDeciders)[]) {
      if (merged[kind]) throw new Error(`the requirement kind ${kind} is decided by two modules`);
      Object.assign(merged, { [kind]: decides?.[kind] });
    }
  }
  return merged;
}
