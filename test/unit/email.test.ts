import { InputCheck } from "../../src/shared/input-check";
import { validatePayload } from "../../src/platform/events/catalogue";

const accepted = (email: string) => {
  const check = new InputCheck("input");
  check.email("email", email);
  return check.problems.length === 0;
};
const publishable = (email: string) => {
  try {
    validatePayload("user.email_verified", { email });
    return true;
  } catch {
    return false;
  }
};

const GOOD = ["ada@example.test", "josé@example.com", "用户@example.com", "a!b@example.com", "o'brien+tag@mail.example.co.uk", "x_y-z.w@xn--p1ai.example", "{}|~^`=?#$%&*/@example.io", `${"a".repeat(64)}@example.com`];
const BAD = [
  "x@example.1",
  "a\u0000b@example.com",
  "a\u007fb@example.com",
  "a\u0085b@example.com",
  "a\u200bb@example.com",
  "a b@example.com",
  ".a@example.com",
  "a.@example.com",
  "a..b@example.com",
  '"a"@example.com',
  "a@example",
  "a@-example.com",
  "a@exa_mple.com",
  "a@bücher.de",
  "a@@example.com",
  `${"a".repeat(65)}@example.com`,
  `a@${"b".repeat(250)}.com`,
];

it("malformed input: the input check and the event catalogue accept exactly the same emails", () => {
  expect(GOOD.map((email) => [email, accepted(email), publishable(email)])).toEqual(GOOD.map((email) => [email, true, true]));
  expect(BAD.map((email) => [email, accepted(email), publishable(email)])).toEqual(BAD.map((email) => [email, false, false]));
});

it("malformed input: an email is kept in Unicode NFC, so one address is stored and found one way", () => {
  const check = new InputCheck("input");
  expect(check.email("email", " jose\u0301@example.com ")).toBe("jos\u00e9@example.com");
  expect(check.problems).toEqual([]);
});
