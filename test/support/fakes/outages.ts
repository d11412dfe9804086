import { ProviderUnavailableError } from "../../../src/platform/http/provider-http";
import type { FakeServer } from "./fake-server";

export interface OutageHarness {
  fake: Pick<FakeServer, "failNext" | "hang" | "down" | "up">;
  /** One adapter call (any will do: they share the plumbing); each call gets a fresh name where the provider needs one. */
  call(signal: AbortSignal): Promise<unknown>;
}

const unavailable = async (call: Promise<unknown>): Promise<ProviderUnavailableError> => {
  const error = await call.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ProviderUnavailableError);
  return error as ProviderUnavailableError;
};

const generous = () => AbortSignal.timeout(15_000);

/**
 * The outages every provider adapter must turn into ProviderUnavailableError (what the breaker
 * and the retry count), each followed by a call that goes through once the provider is back.
 */
export function describeOutages(provider: string, harness: () => OutageHarness): void {
  describe(`${provider}: outages are ProviderUnavailableError`, () => {
    it("429 with Retry-After carries the seconds asked for", async () => {
      const { fake, call } = harness();
      fake.failNext(1, 429, 7);
      const error = await unavailable(call(generous()));
      expect(error.retryAfterSeconds).toBe(7);
      expect(error.message).toMatch(new RegExp(`^${provider} \\w+ unavailable: HTTP 429 \\(retry after 7 s\\)$`));
      await expect(call(generous())).resolves.toBeDefined();
    });

    it("408, 500 and 503 (with or without Retry-After)", async () => {
      const { fake, call } = harness();
      fake.failNext(1, 408);
      fake.failNext(1, 500);
      fake.failNext(1, 503, 2);
      expect((await unavailable(call(generous()))).message).toMatch(new RegExp(`^${provider} \\w+ unavailable: HTTP 408$`));
      expect((await unavailable(call(generous()))).retryAfterSeconds).toBeNull();
      expect((await unavailable(call(generous()))).retryAfterSeconds).toBe(2);
      await expect(call(generous())).resolves.toBeDefined();
    });

    it("a provider that never answers times out on the caller's AbortSignal", async () => {
      const { fake, call } = harness();
      fake.hang(true);
      expect((await unavailable(call(AbortSignal.timeout(300)))).message).toMatch(/got no answer: aborted \(TimeoutError/);
      fake.hang(false);
      await expect(call(generous())).resolves.toBeDefined();
    });

    it("a provider that is down (connection refused)", async () => {
      const { fake, call } = harness();
      await fake.down();
      expect((await unavailable(call(generous()))).message).toMatch(/got no answer: ECONNREFUSED/);
      await fake.up();
      await expect(call(generous())).resolves.toBeDefined();
    });
  });
}
