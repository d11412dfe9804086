import { MemoryRateLimitStore } from "../../src/platform/ratelimit/store";

/** A clock the test moves by hand. */
function manualClock(start = 1_000_000) {
  let now = start;
  return { now: () => now, advance: (ms: number) => (now += ms) };
}

/**
 * Counts the steps of every Map, Set and Array iterator taken while `fn` runs: a scan of a
 * collection shows as one step per element, however fast the machine.
 */
async function iteratorSteps(fn: () => Promise<void>): Promise<number> {
  const prototypes = [new Map().entries(), new Set().values(), [].values()].map((it) => Object.getPrototypeOf(it) as { next: (...args: unknown[]) => unknown });
  const originals = prototypes.map((p) => p.next);
  let steps = 0;
  prototypes.forEach((p, i) => {
    const original = originals[i]!;
    p.next = function (this: unknown, ...args: unknown[]) {
      steps += 1;
      return original.apply(this, args);
    };
  });
  try {
    await fn();
  } finally {
    prototypes.forEach((p, i) => (p.next = originals[i]!));
  }
  return steps;
}

describe("issue 10 item 12: the in-memory rate-limit store", () => {
  it("adds a key in a constant number of steps however many keys are live (no scan of the map)", async () => {
    const clock = manualClock();
    const store = new MemoryRateLimitStore(clock.now);
    for (let i = 0; i < 10_000; i += 1) await store.hit(`live:${i}`, 60_000);
    const steps = await iteratorSteps(async () => {
      for (let i = 0; i < 200; i += 1) await store.hit(`new:${i}`, 60_000);
    });
    expect(steps).toBeLessThan(200 * 4);
    // The live counters are all still counted.
    expect((await store.hit("live:0", 60_000)).count).toBe(2);
  });

  it("expires windows without scanning: past their windows, keys start again at 1", async () => {
    const clock = manualClock();
    const store = new MemoryRateLimitStore(clock.now);
    for (let i = 0; i < 20_000; i += 1) await store.hit(`old:${i}`, 1_000);
    await store.hit("long", 60_000, 5);
    clock.advance(1_000);
    const steps = await iteratorSteps(async () => {
      for (let i = 0; i < 200; i += 1) await store.hit(`new:${i}`, 1_000);
    });
    expect(steps).toBeLessThan(200 * 4);
    expect((await store.hit("old:7", 1_000)).count).toBe(1);
    expect(await store.hit("long", 60_000)).toEqual({ count: 6, resetInMs: 59_000 });
  });

  it("holds at most maxKeys counters: a new key beyond them forgets the one closest to its reset", async () => {
    const clock = manualClock();
    const store = new MemoryRateLimitStore(clock.now, 3);
    await store.hit("a", 60_000, 4);
    await store.hit("short", 10_000, 4);
    await store.hit("b", 60_000, 4);
    await store.hit("c", 60_000); // full: "short" resets soonest and goes
    expect((await store.hit("a", 60_000)).count).toBe(5);
    expect((await store.hit("b", 60_000)).count).toBe(5);
    expect((await store.hit("short", 10_000)).count).toBe(1); // forgotten; re-adding it forgets "a"
    expect((await store.hit("a", 60_000)).count).toBe(1);
  });

  it("reset forgets a key; its next hit opens a new window", async () => {
    const clock = manualClock();
    const store = new MemoryRateLimitStore(clock.now);
    await store.hit("k", 60_000, 3);
    clock.advance(30_000);
    await store.reset("k");
    expect(await store.hit("k", 60_000)).toEqual({ count: 1, resetInMs: 60_000 });
  });
});
