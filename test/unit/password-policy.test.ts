import { loadConfig } from "../../src/config";
import { AccountsService } from "../../src/modules/accounts/accounts.service";
import { passwordProblems } from "../../src/modules/accounts/password-policy";
import { PasswordHasher } from "../../src/platform/crypto/passwords";
import { MemoryRateLimitStore } from "../../src/platform/ratelimit/store";
import { BadUserInputError } from "../../src/graphql/errors";

describe("password policy", () => {
  it("SECURITY 7: refuses 11 characters, accepts 12 (both policies)", () => {
    expect(passwordProblems("Abcdefgh1!x", "product")).toContain("must be at least 12 characters");
    expect(passwordProblems("Abcdefgh1!xy", "product")).toEqual([]);
    expect(passwordProblems("zebra quartz", "nist")).toEqual([]);
  });

  it("SECURITY 8: under the nist policy, accepts a lowercase passphrase and an emoji one", () => {
    expect(passwordProblems("correct horse battery staple", "nist")).toEqual([]);
    expect(passwordProblems("🦄🌈 unicorns love rainbows 🌈🦄", "nist")).toEqual([]);
  });

  it("SECURITY 9: counts bytes, not characters, against bcrypt's 72", () => {
    expect(passwordProblems("a".repeat(72), "nist")).toEqual([]);
    expect(passwordProblems("a".repeat(73), "nist")).toEqual(["must be at most 72 bytes in UTF-8 (bcrypt's limit)"]);
    expect(passwordProblems("é".repeat(37), "nist")).toEqual(["must be at most 72 bytes in UTF-8 (bcrypt's limit)"]);
  });

  it("SECURITY 11: refuses common passwords (a 49,000-entry list), whatever the case", () => {
    expect(passwordProblems("password1234", "nist")).toEqual(["is too common"]);
    expect(passwordProblems("PASSWORD1234", "nist")).toEqual(["is too common"]);
  });

  it("refuses the email's local part and the name under the product policy", () => {
    expect(passwordProblems("Xx1!adalovelace", "product", { email: "AdaLovelace@example.test" })).toEqual(["must not contain your email address"]);
    expect(passwordProblems("Xx1!grace-hopper", "product", { name: "Grace" })).toEqual(["must not contain your name"]);
  });
});

describe("hashing", () => {
  it("SECURITY 10: the production default is bcrypt cost 12 ($2b$12$), no pre-hash", async () => {
    const hasher = new PasswordHasher(loadConfig({}).BCRYPT_COST);
    const hash = await hasher.hash("Correct-Horse-42!");
    expect(hash).toMatch(/^\$2b\$12\$.{53}$/);
    expect(await hasher.verify("Correct-Horse-42!", hash)).toBe(true);
    expect(await hasher.verify("Correct-Horse-43!", hash)).toBe(false);
    expect(await hasher.verify("Correct-Horse-42!", null)).toBe(false);
  });

  it("SECURITY 3: a 1 MB password is refused before bcrypt ever sees it", async () => {
    const hasher = new PasswordHasher(4);
    const hash = jest.spyOn(hasher, "hash");
    const service = new AccountsService(null as never, null as never, hasher, new MemoryRateLimitStore(), { now: () => new Date() }, { publicUrl: "https://id.example.test", passwordPolicy: "product", emailVerificationTtlMs: 60_000 });
    const error = await service.register({ email: "a@example.test", password: "A1!a".repeat(262_144) }, { actor: { type: "anonymous", id: null } }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BadUserInputError);
    expect((error as BadUserInputError).fields).toEqual([{ field: "input.password", message: "must be at most 72 bytes" }]);
    expect(hash).not.toHaveBeenCalled();
  });
});

describe("hashing concurrency", () => {
  it("runs at most maxConcurrent bcrypt operations at once, leaving pool threads to others", async () => {
    const bcrypt = jest.requireActual<typeof import("bcrypt")>("bcrypt");
    let running = 0;
    let peak = 0;
    const spy = jest.spyOn(bcrypt, "compare").mockImplementation((async () => {
      running += 1;
      peak = Math.max(peak, running);
      await new Promise((r) => setTimeout(r, 20));
      running -= 1;
      return true;
    }) as never);
    try {
      const hasher = new PasswordHasher(4, 2);
      const results = await Promise.all(Array.from({ length: 7 }, () => hasher.verify("x", "$2b$04$abcdefghijklmnopqrstuu5jR9H0Xr2fEm3eYEqv3Bxk2sT.2zF2e")));
      expect(results).toEqual(Array(7).fill(true));
      expect(spy).toHaveBeenCalledTimes(7);
      expect(peak).toBe(2);
    } finally {
      spy.mockRestore();
    }
  });
});
