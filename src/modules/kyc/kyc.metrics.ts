import { Counter, Gauge, Histogram, type Registry } from "prom-client";

/** Why a provider call failed: the `reason` label of `kyc_provider_failures_total`. */
export type KycFailureReason = "timeout" | "unavailable" | "rejected" | "circuit_open";

/** A provider call attempt's outcome: the `outcome` label of `kyc_latency_seconds`. */
export type KycCallOutcome = "ok" | Exclude<KycFailureReason, "circuit_open">;

/** The `kyc_provider_circuit_state` values. */
export const CIRCUIT_GAUGE = { closed: 0, "half-open": 1, open: 2 } as const;

/** Prometheus metrics of the KYC providers, on the app's registry (`new KycMetrics(metrics.registry)`). */
export class KycMetrics {
  readonly latency: Histogram<"provider" | "call" | "outcome">;
  readonly circuitState: Gauge<"provider">;
  readonly failures: Counter<"provider" | "call" | "reason">;
  readonly fallbacks: Counter<"from" | "to">;

  constructor(registry: Registry) {
    const registers = [registry];
    this.latency = new Histogram({
      name: "kyc_latency_seconds",
      help: "KYC provider call latency, one observation per attempt (retries are separate attempts), by provider, call and outcome (ok, rejected, unavailable, timeout)",
      labelNames: ["provider", "call", "outcome"] as const,
      // Provider APIs answer in tens of milliseconds to seconds; the slowest document uploads approach 30 s.
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30],
      registers,
    });
    this.circuitState = new Gauge({
      name: "kyc_provider_circuit_state",
      help: "KYC provider circuit breaker state: 0 closed, 1 half-open, 2 open",
      labelNames: ["provider"] as const,
      registers,
    });
    this.failures = new Counter({
      name: "kyc_provider_failures_total",
      help: "KYC provider call failures by provider, call and reason (timeout, unavailable: 429/5xx/network, rejected: the provider refused the request, circuit_open: not attempted)",
      labelNames: ["provider", "call", "reason"] as const,
      registers,
    });
    this.fallbacks = new Counter({
      name: "kyc_provider_fallbacks_total",
      help: "KYC calls moved from an unavailable provider to the next one in the fallback order",
      labelNames: ["from", "to"] as const,
      registers,
    });
  }
}
