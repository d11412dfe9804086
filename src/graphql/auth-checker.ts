import type { AuthCheckerFn } from "type-graphql";
import type { Clock } from "../platform/clock";
import type { Context, Viewer } from "./context";
import { ForbiddenError, UnauthenticatedError } from "../shared/errors";

/**
 * What a resolver requires, declared with `@Authorized(...)`: nothing more than a signed-in caller
 * (`@Authorized()`), or requirements as data (`perm:<name>`, `recent-mfa:<seconds>`,
 * `scope:<name>`, `recent-auth:<seconds>`) that a module decides by registering a `RequirementCheck`.
 */
export type Requirement = `perm:${string}` | `recent-mfa:${number}` | `recent-auth:${number}` | `scope:${string}`;

export type RequirementCheck = (viewer: Viewer, requirement: Requirement) => boolean | Promise<boolean>;

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
 * type-graphql's auth checker, throwing the house's own errors: no viewer is UNAUTHENTICATED, an
 * unmet requirement FORBIDDEN naming it. `recent-mfa:` and `recent-auth:` are decided from the token's claims; any
 * other requirement by `decide`, and one nobody decides is unmet (fail closed).
 */
export function createAuthChecker(clock: Clock, decide: RequirementCheck = () => false): AuthCheckerFn<Context, Requirement> {
  return async ({ context }, requirements) => {
    const viewer = context.viewer;
    if (!viewer) throw new UnauthenticatedError();
    for (const requirement of requirements) {
      const met = requirement.startsWith("recent-") ? recentAuthentication(viewer, requirement, clock) : await decide(viewer, requirement);
      if (!met) throw new ForbiddenError(`Requires ${requirement}`);
    }
    return true;
  };
}

/** The viewer of a resolver declared `@Authorized()` (the checker has run). */
export function signedIn(context: Context): Viewer {
  if (!context.viewer) throw new UnauthenticatedError();
  return context.viewer;
}

/** The modules' decisions, by the requirement's kind (`perm:…` to the one that decides `perm`); a kind decided twice is refused. */
export function requirementChecks(deciders: readonly (Partial<Record<"perm" | "scope", RequirementCheck>> | undefined)[]): RequirementCheck {
  const byKind = new Map<string, RequirementCheck>();
  for (const decides of deciders) {
    for (const [kind, check] of Object.entries(decides ?? {})) {
      if (byKind.has(kind)) throw new Error(`the requirement kind ${kind} is decided by two modules`);
      byKind.set(kind, check);
    }
  }
  return (viewer, requirement) => byKind.get(requirement.split(":", 1)[0] as string)?.(viewer, requirement) ?? false;
}
