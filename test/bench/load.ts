// The load generator, run in a child process so that it never shares the measured server's event
// loop: `load(spec)` forks this file, which runs autocannon and sends back its figures.
import { fork } from "node:child_process";
import autocannon from "autocannon";

export interface LoadSpec {
  url: string;
  connections: number;
  seconds: number;
  headers?: Record<string, string>;
  body?: string;
  /**
   * Refresh-token chains: each request takes an idle chain's token and its response hands the
   * chain back with the next token (one request in flight per connection, so as many chains as
   * connections never run dry). Every rotation is checked.
   */
  refreshChains?: string[];
  refreshQuery?: string;
}

export interface LoadResult {
  rps: number;
  p50: number;
  p99: number;
  /** Requests completed. */
  requests: number;
  failures: number;
  /**
   * This process's CPU (user + system, µs) per completed request while the load ran: the cost of a
   * request to a server running in this process. Steadier than req/s on a shared machine, where
   * neighbours take cores away from both sides of a ratio unevenly.
   */
  cpuUsPerRequest: number;
}

/** What the child sends: that the load starts now, then its figures. */
type ChildMessage = { started: true } | Omit<LoadResult, "cpuUsPerRequest">;

async function run(spec: LoadSpec): Promise<Omit<LoadResult, "cpuUsPerRequest">> {
  const idle = [...(spec.refreshChains ?? [])];
  let failures = 0;
  const requests = spec.refreshChains
    ? [
        {
          setupRequest: (request: autocannon.Request) => ({ ...request, body: JSON.stringify({ query: spec.refreshQuery, variables: { t: idle.shift() } }) }),
          onResponse: (_status: number, body: string) => {
            const next = (JSON.parse(body) as { data?: { refreshTokens?: { refreshToken: string } } }).data?.refreshTokens?.refreshToken;
            if (next) idle.push(next);
            else failures += 1;
          },
        },
      ]
    : undefined;
  process.send?.({ started: true } satisfies ChildMessage);
  const result = await autocannon({
    url: spec.url,
    method: "POST",
    connections: spec.connections,
    duration: spec.seconds,
    headers: { "content-type": "application/json", ...spec.headers },
    ...(spec.body ? { body: spec.body } : {}),
    ...(requests ? { requests } : {}),
  });
  return { rps: result.requests.average, p50: result.latency.p50, p99: result.latency.p99, requests: result.requests.total, failures: failures + result.non2xx + result.errors };
}

/** Runs the load from a child process; fails when any request failed. */
export function load(spec: LoadSpec): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const child = fork(__filename, [], { execArgv: ["-r", "@swc-node/register"], stdio: ["ignore", "inherit", "inherit", "ipc"] });
    let cpu = process.cpuUsage();
    child.on("message", (message: ChildMessage) => {
      if ("started" in message) return void (cpu = process.cpuUsage());
      const used = process.cpuUsage(cpu);
      if (message.failures > 0) reject(new Error(`${message.failures} requests failed at ${spec.url}`));
      else resolve({ ...message, cpuUsPerRequest: (used.user + used.system) / Math.max(1, message.requests) });
    });
    child.once("error", reject);
    child.once("exit", (code) => code !== 0 && reject(new Error(`load generator exited with ${code}`)));
    child.send(spec);
  });
}

if (require.main === module) {
  process.once("message", (spec: LoadSpec) => {
    run(spec).then(
      (result) => process.send?.(result, () => process.exit(0)),
      (error: unknown) => {
        process.stderr.write(`load failed: ${String(error)}\n`);
        process.exit(1);
      },
    );
  });
}
