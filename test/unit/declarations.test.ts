import { readdirSync } from "node:fs";
import path from "node:path";
import { configSpec, declarationOwners, eventCatalogue, notificationTemplates, singleUseFields } from "../../src/modules/declarations";
import { mergeOnce } from "../../src/shared/merge-once";

it("merges every owner's declarations of one kind into one record", () => {
  expect(mergeOnce("event", { accounts: { "user.registered": 1 }, sessions: { "session.created": 2 } })).toEqual({ "user.registered": 1, "session.created": 2 });
});

it("a name declared by two owners stops the start, naming the kind, the name and both owners", () => {
  expect(() => mergeOnce("variable", { platform: { PORT: 1 }, sessions: { SESSION_TTL_S: 2 }, mfa: { PORT: 3 } })).toThrow('The variable "PORT" is declared by both platform and mfa');
});

it("the service's declarations merge without a repeated name", () => {
  expect(Object.keys(configSpec)).toContain("SESSION_TTL_S");
  expect(Object.keys(eventCatalogue)).toContain("audit.checkpoint");
  expect(Object.keys(notificationTemplates)).toContain("verify-email");
  expect(Object.keys(singleUseFields).sort()).toEqual(["completeMfaLogin", "linkTradingAccount", "login", "refreshTokens", "renewTradingAccountSession", "resetPassword", "rotateTradingAccountCredentials", "stepUp", "verifyEmail"]);
});

it("every module that declares anything is merged (a forgotten line would drop its single-use fields silently)", () => {
  const modulesDir = path.resolve(__dirname, "../../src/modules");
  const declaring = readdirSync(modulesDir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && readdirSync(path.join(modulesDir, entry.name)).includes(`${entry.name}.declarations.ts`))
    .map((entry) => entry.name);
  expect(declaring.length).toBeGreaterThan(1);
  expect(declarationOwners).toEqual(expect.arrayContaining(declaring));
});
