import type { AuthCheckerFn } from "type-graphql";
import type { Context, Viewer } from "./context";
import { ForbiddenError, UnauthenticatedError } from "../shared/errors";

/**
 * What a resolver requires, declared with `@Authorized(...)`: nothing more than a signed-in caller
 * (`@Authorized()`), or requirements as data (`perm:<name>`, `recent-mfa:<seconds>`,
 * `scope:<name>`) that a module decides by registering a `RequirementCheck`.
 */
export type Requirement = `perm:${string}` | `recent-mfa:${number}` | `scope:${string}`;

export type RequirementCheck = (viewer: Viewer, requirement: Requirement) => boolean;

/**
 * type-graphql's auth checker, throwing the house's own errors: no viewer is UNAUTHENTICATED, an
 * unmet requirement FORBIDDEN naming it. A requirement no module decides is unmet (fail closed).
 */
export function createAuthChecker(decide: RequirementCheck = () => false): AuthCheckerFn<Context, Requirement> {
  return ({ context }, requirements) => {
    const viewer = context.viewer;
    if (!viewer) throw new UnauthenticatedError();
    for (const requirement of requirements) if (!decide(viewer, requirement)) throw new ForbiddenError(`Requires ${requirement}`);
    return true;
  };
}

/** The viewer of a resolver declared `@Authorized()` (the checker has run). */
export function signedIn(context: Context): Viewer {
  if (!context.viewer) throw new UnauthenticatedError();
  return context.viewer;
}
