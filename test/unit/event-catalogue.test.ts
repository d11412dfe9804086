import { readFileSync } from "node:fs";
import path from "node:path";
import { eventCatalogue } from "../../src/modules/declarations";
import { InvalidEventError, renderCatalogue, validatePayload } from "../../src/platform/events/catalogue";

it("README.md lists every event of the catalogue as the code renders it", () => {
  const readme = readFileSync(path.resolve(__dirname, "../../README.md"), "utf8");
  const section = /<!-- events:start -->\n([\s\S]*?)\n<!-- events:end -->/.exec(readme)?.[1];
  expect(section).toBe(renderCatalogue());
});

it("names event types as dotted lowercase words (`_` joins the words of one part: service_client.created)", () => {
  for (const type of Object.keys(eventCatalogue)) expect(type).toMatch(/^[a-z][a-z_]*(\.[a-z_]+)+$/);
});

it("validates payloads at run time, naming each problem", () => {
  expect(validatePayload("user.registered", { email: "a@example.test", locale: "en" })).toEqual({ email: "a@example.test", locale: "en" });
  expect(() => validatePayload("user.registered", { email: "a@example.test", locale: "en", password: "x" })).toThrow(
    new InvalidEventError('Invalid payload for user.registered v1: (payload): Unrecognized key: "password"'),
  );
  expect(() => validatePayload("nope.never" as never, {})).toThrow('Unknown event type "nope.never"');
});
