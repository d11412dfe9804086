// Issue 9's denial-of-service refusals (items 1, 3 and 6), each timed beside a baseline measured in
// the same run: the time from sending a hostile operation to its refusal arriving (median and max of
// RUNS), and the worst latency of GET /health/live polled while the refusal is in flight (whether the
// event loop was blocked), beside the round trip of `{ __typename }` on the same transport and of
// /health/live on a quiet server. The app runs in a child process (this file, forked), so a server
// that freezes cannot freeze the measure: past TIMEOUT_MS a run is reported as "> 30 s", the server
// is killed, its database dropped, and a fresh one started for the rest.
import { fork, type ChildProcess } from "node:child_process";
import WebSocket from "ws";
import { startTestApp } from "../support/app";
import { dropDatabase } from "../support/db";

const RUNS = 5;
const BASELINE_RUNS = 50;
const TIMEOUT_MS = 30_000;
const TIMED_OUT = Number.POSITIVE_INFINITY;

interface Server {
  child: ChildProcess;
  baseUrl: string;
  wsUrl: string;
  databaseUrl: string;
}

/** Forks this file as the app's process and waits for its address. */
function startServer(): Promise<Server> {
  return new Promise((resolve, reject) => {
    const child = fork(__filename, [], { execArgv: ["-r", "@swc-node/register"], env: { ...process.env, BENCH_REFUSALS_SERVER: "1" }, stdio: ["ignore", "inherit", "inherit", "ipc"] });
    child.once("message", (m: { baseUrl: string; databaseUrl: string }) => resolve({ child, baseUrl: m.baseUrl, wsUrl: `${m.baseUrl.replace("http", "ws")}/graphql`, databaseUrl: m.databaseUrl }));
    child.once("error", reject);
    child.once("exit", (code) => reject(new Error(`the app's process exited with ${code} before listening`)));
  });
}

async function stopServer(server: Server, kill: boolean): Promise<void> {
  const exited = new Promise((resolve) => server.child.once("exit", resolve));
  if (kill) server.child.kill("SIGKILL");
  else server.child.send("stop");
  await exited;
  if (kill) await dropDatabase(server.databaseUrl);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const LATE = Symbol("late");

/** `promise`, or LATE once `ms` have passed. */
function within<T>(promise: Promise<T>, ms: number): Promise<T | typeof LATE> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<typeof LATE>((resolve) => (timer = setTimeout(() => resolve(LATE), ms)));
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)] ?? 0;
const fmt = (ms: number) => (ms === TIMED_OUT ? `> ${TIMEOUT_MS / 1000} s` : ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(ms < 10 ? 2 : 1)} ms`);
const size = (bytes: number) => (bytes >= 1e6 ? `${(bytes / 1e6).toFixed(1)} MB` : `${(bytes / 1e3).toFixed(1)} KB`);
const ratio = (a: number, b: number) => (a === TIMED_OUT ? `> ${(TIMEOUT_MS / b).toFixed(0)}x` : `${(a / b).toFixed(1)}x`);

/** A graphql-transport-ws socket, acknowledged as an anonymous connection. */
async function openSocket(url: string): Promise<WebSocket> {
  const socket = new WebSocket(url, ["graphql-transport-ws"]);
  await new Promise<void>((resolve, reject) => {
    socket.once("error", reject);
    socket.once("open", () => socket.send(JSON.stringify({ type: "connection_init", payload: {} })));
    socket.once("message", (data) => {
      const type = (JSON.parse(String(data)) as { type: string }).type;
      if (type === "connection_ack") resolve();
      else reject(new Error(`connection_init answered ${type}`));
    });
  });
  socket.removeAllListeners("error");
  socket.on("error", () => undefined); // a refusal by close may also error the sending side
  return socket;
}

interface WsMessage {
  id?: string;
  type: string;
  payload?: { message: string; extensions?: { code?: string } }[] | { data?: unknown };
}

/**
 * Sends one `subscribe` and resolves with how it was refused: an `error` message, or the socket
 * closed. Data, or a `complete` without an error, fails the bench.
 */
function subscribeRefused(socket: WebSocket, message: string, name: string, sent: (ms: number) => void): Promise<string> {
  return new Promise((resolve, reject) => {
    socket.on("message", (data) => {
      const m = JSON.parse(String(data)) as WsMessage;
      if (m.type === "error" && Array.isArray(m.payload)) resolve(`error message, ${m.payload[0]?.extensions?.code ?? "no code"}: ${m.payload[0]?.message.slice(0, 70)}`);
      else if (m.type === "next" || m.type === "complete") reject(new Error(`${name} was not refused: ${String(data).slice(0, 200)}`));
    });
    socket.once("close", (code) => resolve(`socket closed ${code}`));
    const t0 = performance.now();
    socket.send(message); // frames and masks the whole message before returning
    sent(performance.now() - t0);
  });
}

/** Round trip of `{ __typename }` on one socket: subscribe -> next -> complete. */
function typenameOverWs(socket: WebSocket, id: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onMessage = (data: WebSocket.RawData) => {
      const m = JSON.parse(String(data)) as WsMessage;
      if (m.id !== id) return;
      if (m.type === "complete") {
        socket.off("message", onMessage);
        resolve();
      } else if (m.type !== "next") reject(new Error(`{ __typename } over WebSocket answered ${String(data)}`));
    };
    socket.on("message", onMessage);
    socket.send(JSON.stringify({ id, type: "subscribe", payload: { query: "{ __typename }" } }));
  });
}

async function postGraphql(baseUrl: string, query: string): Promise<{ status: number; body: { data?: unknown; errors?: { message: string; extensions?: { code?: string } }[] } }> {
  const res = await fetch(`${baseUrl}/graphql`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ query }) });
  return { status: res.status, body: (await res.json()) as never };
}

async function timeEach(n: number, fn: (i: number) => Promise<void>): Promise<number[]> {
  for (let i = 0; i < 10; i += 1) await fn(-1 - i); // warm-up, discarded
  const times: number[] = [];
  for (let i = 0; i < n; i += 1) {
    const t0 = performance.now();
    await fn(i);
    times.push(performance.now() - t0);
  }
  return times;
}

async function healthLive(baseUrl: string, timeoutMs: number): Promise<number> {
  const t0 = performance.now();
  try {
    const res = await fetch(`${baseUrl}/health/live`, { signal: AbortSignal.timeout(Math.ceil(timeoutMs)) });
    if (res.status !== 200) throw new Error(`/health/live answered ${res.status}`);
    await res.arrayBuffer();
  } catch (error) {
    if ((error as Error).name === "TimeoutError") return TIMED_OUT;
    throw error;
  }
  return performance.now() - t0;
}

interface Baselines {
  ws: number;
  http: number;
  health: number;
}

async function measureBaselines(server: Server): Promise<Baselines> {
  const socket = await openSocket(server.wsUrl);
  const ws = median(await timeEach(BASELINE_RUNS, (i) => typenameOverWs(socket, `b${i}`)));
  socket.close(1000);
  const http = median(
    await timeEach(BASELINE_RUNS, async () => {
      const { body } = await postGraphql(server.baseUrl, "{ __typename }");
      if ((body.data as { __typename?: string } | undefined)?.__typename !== "Query") throw new Error(`{ __typename } over HTTP answered ${JSON.stringify(body)}`);
    }),
  );
  const health = median(
    await timeEach(BASELINE_RUNS, async () => {
      if ((await healthLive(server.baseUrl, TIMEOUT_MS)) === TIMED_OUT) throw new Error("/health/live timed out on a quiet server");
    }),
  );
  return { ws, http, health };
}

interface Case {
  name: string;
  transport: "ws" | "http";
  /** Readies one attempt (socket open and acknowledged, message built) and returns the send, which resolves with how it was refused. */
  prepare(server: Server): Promise<{ send(): Promise<string>; cleanup(): void; clientMs?(): number }>;
}

function wsCase(name: string, query: string): Case {
  const message = JSON.stringify({ id: "1", type: "subscribe", payload: { query } });
  return {
    name: `${name} (${size(message.length)} message)`,
    transport: "ws",
    async prepare(server) {
      const socket = await openSocket(server.wsUrl);
      let clientMs = 0;
      return { send: () => subscribeRefused(socket, message, name, (ms) => (clientMs = ms)), cleanup: () => socket.terminate(), clientMs: () => clientMs };
    },
  };
}

function httpCase(name: string, query: string): Case {
  return {
    name: `${name} (${size(query.length)} query)`,
    transport: "http",
    async prepare(server) {
      return {
        async send() {
          const { status, body } = await postGraphql(server.baseUrl, query);
          const first = body.errors?.[0];
          if (!first || (body.data !== undefined && body.data !== null)) throw new Error(`${name} was not refused: ${status} ${JSON.stringify(body).slice(0, 200)}`);
          return `HTTP ${status}, ${first.extensions?.code ?? "no code"}: ${first.message.slice(0, 70)}`;
        },
        cleanup: () => undefined,
      };
    },
  };
}

/** `query Bomb { ...F0 }`, each of F0..F(n-1) spreading the next twice: 2^n selections once expanded. */
export function fragmentBomb(n: number): string {
  return [`query Bomb { ...F0 }`, ...Array.from({ length: n }, (_, i) => `fragment F${i} on Query { __typename ...F${i + 1} ...F${i + 1} }`), `fragment F${n} on Query { __typename }`].join("\n");
}

interface CaseResult {
  times: number[];
  /** Worst /health/live latency while each refusal was in flight. */
  health: number[];
  probes: number;
  kinds: Set<string>;
  /** Time the client itself spent in its synchronous send() (WebSocket: framing and masking). */
  client: number[];
}

/**
 * One run: the hostile operation is sent, and /health/live polled (one probe at a time, 5 ms apart)
 * from the same instant until the refusal arrives.
 */
async function runOnce(c: Case, server: Server): Promise<{ ms: number; health: number; probes: number; kind?: string; clientMs?: number }> {
  const attempt = await c.prepare(server);
  let pending = true;
  const t0 = performance.now();
  const refused = attempt.send().then((kind) => ({ kind, ms: performance.now() - t0 }));
  refused.catch(() => undefined).finally(() => (pending = false));
  const probing = (async () => {
    let worst = 0;
    let probes = 0;
    do {
      const latency = await healthLive(server.baseUrl, Math.max(1, TIMEOUT_MS - (performance.now() - t0)));
      probes += 1;
      worst = Math.max(worst, latency);
      if (latency === TIMED_OUT) break;
      await sleep(5);
    } while (pending);
    return { worst, probes };
  })();
  probing.catch(() => undefined); // awaited below, after the refusal
  try {
    const outcome = await within(refused, TIMEOUT_MS);
    const { worst, probes } = await probing;
    const clientMs = attempt.clientMs?.();
    return outcome === LATE ? { ms: TIMED_OUT, health: worst, probes, clientMs } : { ms: outcome.ms, health: worst, probes, kind: outcome.kind, clientMs };
  } finally {
    attempt.cleanup();
  }
}

export async function benchRefusals(): Promise<void> {
  const cases: Case[] = [
    httpCase("item 6: HTTP POST of `{ me { id } ... }` x 90,000", `{ ${"me { id } ".repeat(90_000)} }`),
    wsCase("item 3: WebSocket subscribe of `{ _service { sdl } ... }` x 520,000", `{ ${"_service { sdl } ".repeat(520_000)} }`),
    wsCase("item 1: WebSocket fragment bomb N=20", fragmentBomb(20)),
    wsCase("item 1: WebSocket fragment bomb N=40", fragmentBomb(40)),
  ];
  let server = await startServer();
  const rows: string[] = [];
  const kinds: string[] = [];
  try {
    const baselines = await measureBaselines(server);
    for (const c of cases) {
      const result: CaseResult = { times: [], health: [], probes: 0, kinds: new Set(), client: [] };
      for (let run = 0; run < RUNS; run += 1) {
        const { ms, health, probes, kind, clientMs } = await runOnce(c, server);
        if (clientMs !== undefined) result.client.push(clientMs);
        result.times.push(ms);
        result.health.push(health);
        result.probes += probes;
        if (kind) result.kinds.add(kind);
        if (ms === TIMED_OUT) {
          // The server may be frozen for minutes: replace it, and spend no more runs on this case.
          await stopServer(server, true);
          server = await startServer();
          break;
        }
        await sleep(100);
      }
      const base = c.transport === "ws" ? baselines.ws : baselines.http;
      const refusal = median(result.times);
      const worstHealth = Math.max(...result.health);
      rows.push(
        `| ${c.name} | ${fmt(refusal)} / ${fmt(Math.max(...result.times))} (${result.times.length} runs) | ${fmt(base)} | ${ratio(refusal, base)} | ${fmt(worstHealth)} (${result.probes} probes) | ${fmt(baselines.health)} | ${ratio(worstHealth, baselines.health)} |`,
      );
      const client = result.client.length ? ` (of the time to refusal, the client's own send() took ${fmt(median(result.client))}, median)` : "";
      kinds.push(`${c.name}: ${result.kinds.size ? [...result.kinds].join("; ") : "no answer"}${client}`);
      process.stdout.write(`${rows[rows.length - 1]}\n`);
    }
  } finally {
    await stopServer(server, false);
  }
  process.stdout.write(
    [
      "",
      `Node ${process.version}; the app in a child process; ${RUNS} runs per case (fewer after a run past ${TIMEOUT_MS / 1000} s, which kills the server), baselines the median of ${BASELINE_RUNS} after 10 warm-ups.`,
      "| case | refused in, median / max | baseline: { __typename } round trip, same transport | ratio | /health/live while in flight, worst | baseline: /health/live, quiet | ratio |",
      "| --- | --- | --- | --- | --- | --- | --- |",
      ...rows,
      "",
      "How each was refused:",
      ...kinds.map((k) => `- ${k}`),
      "",
    ].join("\n"),
  );
}

// The app's process: started by startServer, stopped by its "stop" message (or killed).
if (require.main === module && process.env.BENCH_REFUSALS_SERVER === "1") {
  void startTestApp({ LOG_LEVEL: "warn" }).then(
    (t) => {
      process.on("message", (m) => m === "stop" && void t.stop().finally(() => process.exit(0)));
      process.once("disconnect", () => void t.stop().finally(() => process.exit(1))); // the bench died
      process.send?.({ baseUrl: t.baseUrl, databaseUrl: t.databaseUrl });
    },
    (error: unknown) => {
      process.stderr.write(`the app did not start: ${String(error)}\n`);
      process.exit(1);
    },
  );
}
