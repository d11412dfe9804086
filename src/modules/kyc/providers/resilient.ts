import { performance } from "node:perf_hooks";
import { CircuitState, ConsecutiveBreaker, TimeoutStrategy, circuitBreaker, handleWhen, isBrokenCircuitError, retry, timeout, wrap, type CircuitBreakerPolicy, type IPolicy } from "cockatiel";
import { retryAfterOrJitter } from "../../../platform/http/backoff";
import { ProviderUnavailableError } from "../../../platform/http/provider-http";
import type { KycProviderName } from "../kyc.model";
import { CIRCUIT_GAUGE, type KycCallOutcome, type KycMetrics } from "../kyc.metrics";
import type { KycCall, KycProvider } from "./provider";

/** What runs against a provider: one of its calls, given the attempt's AbortSignal. */
export type ProviderCall<T> = (provider: KycProvider, signal: AbortSignal) => Promise<T>;

export type CircuitStateName = keyof typeof CIRCUIT_GAUGE;

/** One policy's settings, the same for every provider. */
export interface ResiliencePolicyOptions {
  /** One attempt's limit: its AbortSignal fires then, and the attempt counts as unavailable. */
  timeoutMs: number;
  /** Attempts per call, the first included (cockatiel's own `maxAttempts` counts retries only). */
  maxAttempts: number;
  /** The scale of the decorrelated-jitter backoff between attempts. */
  initialDelayMs: number;
  /** The longest wait between attempts, a provider's Retry-After included. */
  maxDelayMs: number;
  /** Consecutive unavailable (or timed-out) attempts that open a provider's circuit. */
  breakerThreshold: number;
  /** How long an open circuit refuses calls before it lets one trial call through. */
  halfOpenAfterMs: number;
}

export interface ResilientProvidersOptions {
  providers: KycProvider[];
  policy: ResiliencePolicyOptions;
  metrics: KycMetrics;
}

/** What `withFallback` answers: who answered, and who was passed over on the way and why. */
export interface FallbackResult<T> {
  provider: KycProviderName;
  value: T;
  skipped: { provider: KycProviderName; reason: string }[];
}

interface Guarded {
  provider: KycProvider;
  policy: IPolicy;
  breaker: CircuitBreakerPolicy;
}

const isUnavailable = (error: Error) => error instanceof ProviderUnavailableError;

/** A timed-out attempt of a call the provider does not declare idempotent: it may have been carried out, so it is not sent again. */
class TimedOutUnsafeToRetry extends ProviderUnavailableError {}
const isRetryable = (error: Error) => isUnavailable(error) && !(error instanceof TimedOutUnsafeToRetry);

const STATE_NAMES: Record<CircuitState, CircuitStateName> = {
  [CircuitState.Closed]: "closed",
  [CircuitState.HalfOpen]: "half-open",
  [CircuitState.Open]: "open",
  [CircuitState.Isolated]: "open",
};

/**
 * Each provider's calls under one policy: retries with decorrelated jitter (or the provider's
 * Retry-After) outside a circuit breaker outside a per-attempt timeout, so every attempt, timed out
 * or not, counts for the breaker, and an open breaker stops the retries at once.
 *
 * The breaker is a ConsecutiveBreaker: KYC traffic is a few calls a minute in bursts, too thin for a
 * SamplingBreaker's failure rate over a window (its minimum throughput would rarely be met, or one
 * failure among three calls would read as 33%); n failed attempts in a row is a clear signal at any
 * volume. Only unavailability counts: a provider refusing a request is answering, so a refusal is
 * neither retried nor held against its circuit.
 *
 * The timeout is cooperative: the adapters pass the AbortSignal to fetch, so a timed-out attempt
 * ends with its request aborted (its socket closed) rather than left running behind the caller.
 * The provider may still have carried it out: a timed-out call is retried only when the provider
 * declares it idempotent (a second Onfido applicant or check otherwise). A 429 or 5xx answer, or a
 * refused connection, is retried whatever the call.
 */
export class ResilientProviders {
  private readonly guarded = new Map<KycProviderName, Guarded>();
  private readonly metrics: KycMetrics;
  private readonly timeoutMs: number;

  constructor({ providers, policy, metrics }: ResilientProvidersOptions) {
    this.metrics = metrics;
    this.timeoutMs = policy.timeoutMs;
    for (const provider of providers) {
      if (this.guarded.has(provider.name)) throw new Error(`KYC provider ${provider.name} is configured twice`);
      const breaker = circuitBreaker(handleWhen(isUnavailable), { halfOpenAfter: policy.halfOpenAfterMs, breaker: new ConsecutiveBreaker(policy.breakerThreshold) });
      const gauge = this.metrics.circuitState.labels({ provider: provider.name });
      gauge.set(CIRCUIT_GAUGE.closed);
      breaker.onStateChange((state) => gauge.set(CIRCUIT_GAUGE[STATE_NAMES[state]]));
      const retries = retry(handleWhen(isRetryable), { maxAttempts: policy.maxAttempts - 1, backoff: retryAfterOrJitter(policy.initialDelayMs, policy.maxDelayMs) });
      this.guarded.set(provider.name, { provider, breaker, policy: wrap(retries, breaker, timeout(policy.timeoutMs, TimeoutStrategy.Cooperative)) });
    }
  }

  /**
   * Runs `fn` against provider `name` under its policy. Throws ProviderUnavailableError naming the
   * provider when its circuit is open or every attempt was unavailable; any other error is the
   * provider's refusal: thrown as it came, never retried.
   */
  async call<T>(name: KycProviderName, call: KycCall, fn: ProviderCall<T>): Promise<T> {
    const { provider, policy } = this.get(name);
    let attempts = 0;
    try {
      return await policy.execute(({ signal }) => {
        attempts++;
        return this.attempt(provider, call, fn, signal);
      });
    } catch (error) {
      if (isBrokenCircuitError(error)) {
        this.metrics.failures.inc({ provider: name, call, reason: "circuit_open" });
        throw new ProviderUnavailableError(`${name} is unavailable: its circuit is open after repeated failures`);
      }
      if (error instanceof ProviderUnavailableError) {
        throw new ProviderUnavailableError(`${name} ${call} unavailable after ${attempts} attempt(s): ${error.message}`, error.retryAfterSeconds, { status: error.status, cause: error });
      }
      throw error;
    }
  }

  /**
   * Tries the providers in `order`, moving on only when one is unavailable (an open circuit is
   * passed over without a request, until its half-open trial is due); a refusal ends the search.
   */
  async withFallback<T>(order: KycProviderName[], call: KycCall, fn: ProviderCall<T>): Promise<FallbackResult<T>> {
    if (order.length === 0) throw new Error(`No KYC provider to ${call} with: the fallback order is empty`);
    const skipped: FallbackResult<T>["skipped"] = [];
    for (const [i, name] of order.entries()) {
      try {
        return { provider: name, value: await this.call(name, call, fn), skipped };
      } catch (error) {
        if (!(error instanceof ProviderUnavailableError)) throw error;
        skipped.push({ provider: name, reason: error.message });
        const next = order[i + 1];
        if (next) this.metrics.fallbacks.inc({ from: name, to: next });
      }
    }
    throw new ProviderUnavailableError(`No KYC provider available for ${call}: ${skipped.map((s) => s.reason).join("; ")}`);
  }

  /**
   * The circuit of provider `name`. cockatiel moves an open circuit to half-open only when a call
   * arrives after halfOpenAfter, so "open" may mean "open, trial call due".
   */
  state(name: KycProviderName): CircuitStateName {
    return STATE_NAMES[this.get(name).breaker.state];
  }

  private get(name: KycProviderName): Guarded {
    const guarded = this.guarded.get(name);
    if (!guarded) throw new Error(`KYC provider ${name} is not configured`);
    return guarded;
  }

  /** One attempt, measured; an attempt the policy's timeout aborted becomes ProviderUnavailableError. */
  private async attempt<T>(provider: KycProvider, call: KycCall, fn: ProviderCall<T>, signal: AbortSignal): Promise<T> {
    const started = performance.now();
    const observe = (outcome: KycCallOutcome) => {
      this.metrics.latency.observe({ provider: provider.name, call, outcome }, (performance.now() - started) / 1000);
      if (outcome !== "ok") this.metrics.failures.inc({ provider: provider.name, call, reason: outcome });
    };
    try {
      const value = await fn(provider, signal);
      observe("ok");
      return value;
    } catch (error) {
      // Only the timeout aborts this signal before the attempt ends; whatever the adapter made of
      // the abort (an AbortError from fetch, usually), the provider did not answer in time.
      if (signal.aborted) {
        observe("timeout");
        const TimedOut = provider.idempotent.has(call) ? ProviderUnavailableError : TimedOutUnsafeToRetry;
        throw Object.assign(new TimedOut(`${provider.name} ${call} timed out after ${this.timeoutMs} ms`), { cause: error });
      }
      observe(error instanceof ProviderUnavailableError ? "unavailable" : "rejected");
      throw error;
    }
  }
}
