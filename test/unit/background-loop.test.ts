import { BackgroundLoop } from "../../src/platform/background-loop";

/** A loop whose every round waits until the test lets it finish, and an interval far beyond the test's timeout. */
class GatedLoop extends BackgroundLoop {
  rounds = 0;
  private release: (() => void) | null = null;
  private entered: (() => void) | null = null;
  readonly errors: unknown[] = [];

  /** Batches of `found`: every round finds a full one, or (0) nothing. */
  constructor(private readonly found: number) {
    super(3_600_000, Math.max(found, 1));
  }

  /** Resolves when the next round has begun. */
  roundBegun(): Promise<void> {
    return new Promise((resolve) => (this.entered = resolve));
  }

  finishRound(): void {
    this.release?.();
  }

  protected async step(): Promise<number> {
    this.rounds += 1;
    await new Promise<void>((resolve) => {
      this.release = resolve;
      this.entered?.();
    });
    return this.found;
  }

  protected onError(error: unknown): void {
    this.errors.push(error);
  }
}

describe("BackgroundLoop", () => {
  it.each([
    ["found nothing (it would sleep an interval)", 0],
    ["found work (it would run again at once)", 5],
  ])("a stop that comes while a round runs resolves when that round ends and starts no other: the round %s", async (_label, found) => {
    const loop = new GatedLoop(found);
    const begun = loop.roundBegun();
    loop.start();
    await begun;
    const stopped = loop.stop();
    loop.finishRound();
    // An hour-long interval: were the loop to sleep after the round, this would outlast the test's timeout.
    await stopped;
    expect(loop.rounds).toBe(1);
    expect(loop.errors).toEqual([]);
  });

  it("a wake while a round runs makes the next round follow at once; stop during the sleep ends it", async () => {
    const loop = new GatedLoop(0);
    let begun = loop.roundBegun();
    loop.start();
    await begun;
    loop.wake();
    begun = loop.roundBegun();
    loop.finishRound();
    await begun;
    expect(loop.rounds).toBe(2);
    loop.finishRound();
    await new Promise((resolve) => setImmediate(resolve));
    await loop.stop();
    expect(loop.rounds).toBe(2);
  });
});
