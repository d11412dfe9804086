import { DelegateBackoff, ExponentialBackoff, type IBackoff, type IBackoffFactory, type IRetryBackoffContext } from "cockatiel";
import { ProviderUnavailableError } from "./provider-http";

/**
 * The wait before a retry of a provider call: decorrelated jitter, unless the provider said when to
 * come back (Retry-After): then that, capped at maxDelay. A 429 that does not say waits
 * `rateLimitedDelayMs` when given (a provider whose rate window is known: Kite's is a second), the
 * jitter otherwise. cockatiel 3.2 hands a retry's backoff the failure it follows
 * (`context.result`), so the Retry-After is read there; the jitter's own sequence advances either way.
 */
export function retryAfterOrJitter(initialDelayMs: number, maxDelayMs: number, rateLimitedDelayMs?: number): IBackoffFactory<IRetryBackoffContext<unknown>> {
  const jitter = new ExponentialBackoff({ initialDelay: initialDelayMs, maxDelay: maxDelayMs });
  return new DelegateBackoff<IRetryBackoffContext<unknown>, IBackoff<unknown>>((context, previous) => {
    const next = previous ? previous.next(context) : jitter.next();
    const error = "error" in context.result ? context.result.error : null;
    return { delay: Math.min(askedDelayMs(error, rateLimitedDelayMs) ?? next.duration, maxDelayMs), state: next };
  });
}

function askedDelayMs(error: unknown, rateLimitedDelayMs: number | undefined): number | null {
  if (!(error instanceof ProviderUnavailableError)) return null;
  if (error.retryAfterSeconds !== null) return error.retryAfterSeconds * 1000;
  return error.status === 429 && rateLimitedDelayMs !== undefined ? rateLimitedDelayMs : null;
}
