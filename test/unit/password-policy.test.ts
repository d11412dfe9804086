import bcrypt from "bcrypt";
import { readFileSync, readdirSync } from "node:fs";
import { loadConfig } from "../../src/config";
import { AccountsService } from "../../src/modules/accounts/accounts.service";
import { passwordProblems } from "../../src/modules/accounts/password-policy";
import { HASHING_NICE, PasswordHasher } from "../../src/platform/crypto/passwords";
import { MemoryRateLimitStore } from "../../src/platform/ratelimit/store";
import { BadUserInputError, RateLimitedError } from "../../src/shared/errors";

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
    const hasher = new PasswordHasher(loadConfig({}).BCRYPT_COST, 1);
    try {
      const hash = await hasher.hash("Correct-Horse-42!");
      expect(hash).toMatch(/^\$2b\$12\$.{53}$/);
      expect(await hasher.verify("Correct-Horse-42!", hash)).toBe(true);
      expect(await hasher.verify("Correct-Horse-43!", hash)).toBe(false);
      expect(await hasher.verify("Correct-Horse-42!", null)).toBe(false);
    } finally {
      await hasher.close();
    }
  });

  it("SECURITY 2: without a stored hash, compares against a dummy at the configured cost (the same bcrypt work)", async () => {
    const seen: [string, number][] = [];
    const hasher = new PasswordHasher(5, 1, { ran: (operation, cost) => seen.push([operation, cost]) });
    try {
      const hash = await hasher.hash("Correct-Horse-42!");
      expect(await hasher.verify("Correct-Horse-42!", undefined)).toBe(false);
      expect(await hasher.verify("Wrong-Horse-42!", hash)).toBe(false);
      expect(seen).toEqual([["hash", 5], ["compare", 5], ["compare", 5]]);
    } finally {
      await hasher.close();
    }
  });

  it("issue 10 item 9: SECURITY 2: a stored hash cheaper than the configured cost is padded to it (the bcrypt work, 2^cost summed, equals the dummy's) and needs a rehash", async () => {
    const work: number[] = [];
    const hasher = new PasswordHasher(6, 1, { ran: (operation, cost) => work.push(operation === "hash" ? 0 : 2 ** cost) });
    try {
      const old = await bcrypt.hash("Correct-Horse-42!", 4);
      const current = await hasher.hash("Correct-Horse-42!");
      const workOf = async (verify: () => Promise<boolean>) => {
        work.length = 0;
        const matches = await verify();
        return { matches, work: work.reduce((a, b) => a + b, 0) };
      };
      expect(await workOf(() => hasher.verify("Correct-Horse-42!", null))).toEqual({ matches: false, work: 64 });
      expect(await workOf(() => hasher.verify("Correct-Horse-42!", old))).toEqual({ matches: true, work: 64 });
      expect(await workOf(() => hasher.verify("Wrong-Horse-42!", old))).toEqual({ matches: false, work: 64 });
      expect(await workOf(() => hasher.verify("Correct-Horse-42!", current))).toEqual({ matches: true, work: 64 });
      expect([hasher.needsRehash(old), hasher.needsRehash(current), hasher.needsRehash(await bcrypt.hash("x", 7))]).toEqual([true, false, false]);
    } finally {
      await hasher.close();
    }
  });

  it("SECURITY 3: a 1 MB password is refused before bcrypt ever sees it", async () => {
    const hasher = new PasswordHasher(4, 1);
    const hash = jest.spyOn(hasher, "hash");
    const deps = { prisma: null as never, unitOfWork: null as never, hasher, rateLimits: new MemoryRateLimitStore(), clock: { now: () => new Date() }, background: null as never, registered: async () => undefined };
    const service = new AccountsService(deps, { publicUrl: "https://id.example.test", passwordPolicy: "product", emailVerificationTtlMs: 60_000 });
    const error = await service.register({ email: "a@example.test", password: "A1!a".repeat(262_144) }, { actor: { type: "anonymous", id: null } }).catch((e: unknown) => e);
    await hasher.close();
    expect(error).toBeInstanceOf(BadUserInputError);
    expect((error as BadUserInputError).fields).toEqual([{ field: "input.password", message: "must be at most 72 bytes" }]);
    expect(hash).not.toHaveBeenCalled();
  });
});

describe("hashing threads", () => {
  /** Nice values of this process's threads (Linux /proc). */
  const threadNices = () =>
    readdirSync("/proc/self/task").map((tid) => Number(readFileSync(`/proc/self/task/${tid}/stat`, "utf8").split(") ")[1]?.split(" ")[16]));

  it("hashes on its own threads at a lowered priority, never on the event loop or libuv's pool", async () => {
    const before = threadNices().filter((nice) => nice === HASHING_NICE).length;
    const hasher = new PasswordHasher(4, 3);
    try {
      // Threads start as work needs them: none before the first operation.
      expect(threadNices().filter((nice) => nice === HASHING_NICE).length).toBe(before);
      const hash = await hasher.hash("Correct-Horse-42!");
      const results = await Promise.all(Array.from({ length: 7 }, (_, i) => hasher.verify(i % 2 ? "Correct-Horse-42!" : "wrong", hash)));
      expect(results).toEqual([false, true, false, true, false, true, false]);
      expect(threadNices().filter((nice) => nice === HASHING_NICE).length - before).toBe(3);
      expect(threadNices().filter((nice) => nice === 0).length).toBeGreaterThan(0);
      expect(hasher.waiting).toBe(0);
    } finally {
      await hasher.close();
    }
  });

  it("queues beyond its threads; a malformed stored hash never matches; stops cleanly", async () => {
    const hasher = new PasswordHasher(4, 1);
    try {
      const jobs = Array.from({ length: 4 }, () => hasher.hash("Correct-Horse-42!"));
      expect(hasher.waiting).toBe(3);
      const hashes = await Promise.all(jobs);
      expect(new Set(hashes).size).toBe(4);
      expect(await hasher.verify("x", "not a bcrypt hash")).toBe(false);
      expect(await hasher.verify("Correct-Horse-42!", hashes[0])).toBe(true);
    } finally {
      await hasher.close();
    }
    await expect(hasher.hash("x")).rejects.toThrow("password hashing stopped");
  });

  it("issue 10 item 2: beyond its threads and maxWaiting waiting operations, refuses one at once with RATE_LIMITED", async () => {
    const dropped: string[] = [];
    const hasher = new PasswordHasher(4, 1, { dropped: (reason) => dropped.push(reason) }, 2);
    try {
      const accepted = [hasher.hash("a"), hasher.hash("b"), hasher.hash("c")];
      expect(hasher.waiting).toBe(2);
      await expect(hasher.verify("d", null)).rejects.toEqual(new RateLimitedError(1));
      expect(dropped).toEqual(["queue_full"]);
      expect((await Promise.all(accepted)).every((hash) => hash.startsWith("$2b$04$"))).toBe(true);
      expect(await hasher.verify("e", null)).toBe(false);
    } finally {
      await hasher.close();
    }
  });

  it("issue 10 item 2: drops a waiting operation whose caller has gone (its AbortSignal fired): it never runs", async () => {
    const ran: string[] = [];
    const dropped: string[] = [];
    const hasher = new PasswordHasher(4, 1, { ran: (operation) => ran.push(operation), dropped: (reason) => dropped.push(reason) });
    try {
      const running = hasher.hash("a");
      const gone = new AbortController();
      const abandoned = hasher.verify("b", null, gone.signal);
      expect(hasher.waiting).toBe(1);
      gone.abort();
      expect(hasher.waiting).toBe(0);
      await expect(abandoned).rejects.toEqual(new RateLimitedError(1));
      // A caller already gone is not queued at all.
      await expect(hasher.verify("c", null, AbortSignal.abort())).rejects.toEqual(new RateLimitedError(1));
      await running;
      expect(ran).toEqual(["hash"]);
      expect(dropped).toEqual(["abandoned", "abandoned"]);
    } finally {
      await hasher.close();
    }
  });

  it("fails an operation with bcrypt's own error, and the thread keeps serving", async () => {
    const hasher = new PasswordHasher(4, 1);
    try {
      await expect(hasher.hash(undefined as unknown as string)).rejects.toThrow(/data and salt arguments required/);
      expect(await hasher.verify("Correct-Horse-42!", "$2b$04$PUnpMpxAGgCbi8df.f9IgO3OMW7ZIyvsBOYb0gg77wMqwz0bKxEEy")).toBe(false);
      expect(await hasher.verify("x", "$2b$04$PUnpMpxAGgCbi8df.f9IgO3OMW7ZIyvsBOYb0gg77wMqwz0bKxEEy")).toBe(true);
    } finally {
      await hasher.close();
    }
  });

  it("replaces a thread that dies: its job fails, the next ones are served", async () => {
    const hasher = new PasswordHasher(10, 1);
    try {
      const pending = hasher.hash("Correct-Horse-42!");
      const [slot] = (hasher as unknown as { slots: { worker: { terminate(): Promise<number> } }[] }).slots;
      await slot?.worker.terminate();
      await expect(pending).rejects.toThrow("password hashing thread exited");
      const next = await Promise.all([hasher.hash("Correct-Horse-42!"), hasher.hash("Other-Horse-42!")]);
      expect(next.every((h) => h.startsWith("$2b$10$"))).toBe(true);
    } finally {
      await hasher.close();
    }
  });
});
