import type { ResolverData } from "type-graphql";
import { createAuthChecker, requirementChecks, type Requirement } from "../../src/graphql/auth-checker";
import type { ClientCaller, Context, Viewer } from "../../src/graphql/context";

const clock = { now: () => new Date("2026-12-02T12:00:00Z") };
const viewer: Viewer = { userId: "u1", sessionId: "s1", roles: ["trader"], amr: ["pwd"], authTime: clock.now().getTime() / 1000 - 60 };
const client: ClientCaller = { clientId: "svc_1", scopes: ["authz:check"] };
const contextOf = (caller: { viewer?: Viewer; client?: ClientCaller }) => ({ context: { viewer: caller.viewer ?? null, client: caller.client ?? null } as Context }) as ResolverData<Context>;

/** What the checker answers: true, or the error code it throws. */
async function verdict(caller: { viewer?: Viewer; client?: ClientCaller }, requirements: Requirement[], refuseScopes = false): Promise<true | string> {
  const check = createAuthChecker(clock, { perm: (_v, requirement) => requirement === "perm:market:read", scope: () => !refuseScopes });
  try {
    return (await check(contextOf(caller), requirements)) as true;
  } catch (error) {
    return (error as { code: string }).code;
  }
}

it("auth checker: anonymous is UNAUTHENTICATED whatever the field asks", async () => {
  for (const requirements of [[], ["signed-in"], ["scope:authz:check"], ["signed-in", "scope:authz:check"]] as Requirement[][]) expect(await verdict({}, requirements)).toBe("UNAUTHENTICATED");
});

it("auth checker: a user meets every requirement but the scopes; a field of scopes only is for service clients", async () => {
  expect(await verdict({ viewer }, [])).toBe(true);
  expect(await verdict({ viewer }, ["signed-in"])).toBe(true);
  expect(await verdict({ viewer }, ["signed-in", "scope:authz:check"])).toBe(true);
  expect(await verdict({ viewer }, ["perm:market:read", "scope:authz:check"])).toBe(true);
  expect(await verdict({ viewer }, ["perm:users:suspend", "scope:authz:check"])).toBe("FORBIDDEN");
  expect(await verdict({ viewer }, ["recent-mfa:900"])).toBe("FORBIDDEN");
  expect(await verdict({ viewer }, ["recent-auth:900"])).toBe(true);
  expect(await verdict({ viewer }, ["scope:trading_accounts:session"])).toBe("FORBIDDEN");
});

it("auth checker: a service client passes only a field listing scopes, holding all of them, and not refused by the module deciding scope", async () => {
  expect(await verdict({ client }, [])).toBe("FORBIDDEN");
  expect(await verdict({ client }, ["signed-in"])).toBe("FORBIDDEN");
  expect(await verdict({ client }, ["perm:market:read"])).toBe("FORBIDDEN");
  expect(await verdict({ client }, ["signed-in", "scope:authz:check"])).toBe(true);
  expect(await verdict({ client }, ["perm:users:suspend", "scope:authz:check"])).toBe(true);
  expect(await verdict({ client }, ["scope:authz:check", "scope:reports:read"])).toBe("FORBIDDEN");
  expect(await verdict({ client }, ["scope:authz:check"], true)).toBe("FORBIDDEN");
});

it("auth checker: a requirement kind decided by two modules stops the start", () => {
  expect(() => requirementChecks([{ perm: () => true }, { scope: () => true }, { perm: () => false }])).toThrow("the requirement kind perm is decided by two modules");
});
