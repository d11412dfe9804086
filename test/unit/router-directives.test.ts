import { print } from "graphql";
import { routerDirectives } from "../../src/graphql/router-directives";

const printed = (requirements: string[]) => routerDirectives(requirements).map((d) => print(d));

it("a field users call is @authenticated; a permission or recent-factor requirement adds @policy; a clients-only field is @requiresScopes", () => {
  expect(printed([])).toEqual(["@authenticated"]);
  expect(printed(["perm:users:read"])).toEqual(["@authenticated", '@policy(policies: [["perm:users:read"]])']);
  expect(printed(["recent-auth:900"])).toEqual(["@authenticated", '@policy(policies: [["recent-auth:900"]])']);
  expect(printed(["scope:trading_accounts:session"])).toEqual(['@requiresScopes(scopes: [["trading_accounts:session"]])']);
  expect(printed(["signed-in", "scope:authz:check"])).toEqual(["@authenticated"]);
});
