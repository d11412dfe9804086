import { createClient, type Client, type ClientOptions } from "graphql-ws";
import WebSocket from "ws";

export interface OperationOutcome {
  data?: unknown;
  errors?: { message: string; extensions?: Record<string, unknown> }[];
  closeCode?: number;
}

/** A graphql-ws client as web and mobile clients use it (no retries: a close is reported); lazy unless told. */
export function wsClient(url: string, connectionParams?: Record<string, unknown>, options: Partial<ClientOptions> = {}): Client {
  return createClient({ url, webSocketImpl: WebSocket, connectionParams, retryAttempts: 0, lazy: true, ...options });
}

/** Runs one operation; resolves with its results and errors, or the close event. */
export function runOperation(c: Client, query: string): Promise<OperationOutcome> {
  return new Promise((resolve) => {
    let last: { data?: unknown } = {};
    c.subscribe(
      { query },
      {
        next: (value) => (last = value as { data?: unknown }),
        error: (error) => {
          if (Array.isArray(error)) resolve({ errors: error });
          else resolve({ closeCode: (error as { code?: number }).code });
        },
        complete: () => resolve(last),
      },
    );
  });
}

/** A raw graphql-transport-ws socket, acknowledged, for messages a well-behaved client never sends. */
export async function rawSocket(url: string, payload: Record<string, unknown> = {}): Promise<{ socket: WebSocket; messages: unknown[]; closed: Promise<number> }> {
  const socket = new WebSocket(url, ["graphql-transport-ws"]);
  const messages: unknown[] = [];
  const closed = new Promise<number>((resolve) => socket.on("close", (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    socket.on("error", reject);
    socket.on("open", () => socket.send(JSON.stringify({ type: "connection_init", payload })));
    socket.on("message", (data) => {
      const message = JSON.parse(String(data)) as { type: string };
      messages.push(message);
      if (message.type === "connection_ack") resolve();
    });
  });
  return { socket, messages, closed };
}

/** A subscription kept running: what it received so far, and a wait for the n-th result. */
export interface Watch {
  results: { data?: unknown; errors?: { message: string; extensions?: Record<string, unknown> }[] }[];
  /** Resolves once `count` results arrived (or rejects when the subscription ends first). */
  received(count: number, timeoutMs?: number): Promise<Watch["results"]>;
  /** The subscription's end: an error list, a close code, or completion. */
  ended: Promise<OperationOutcome>;
  stop(): void;
}

export function watch(c: Client, query: string, variables?: Record<string, unknown>): Watch {
  const results: Watch["results"] = [];
  const waiters: (() => void)[] = [];
  let resolveEnd: (outcome: OperationOutcome) => void = () => undefined;
  const ended = new Promise<OperationOutcome>((resolve) => (resolveEnd = resolve));
  let done = false;
  const finish = (outcome: OperationOutcome) => {
    done = true;
    resolveEnd(outcome);
    for (const wake of waiters.splice(0)) wake();
  };
  const stop = c.subscribe(
    { query, ...(variables ? { variables } : {}) },
    {
      next: (value) => {
        results.push(value as Watch["results"][number]);
        for (const wake of waiters.splice(0)) wake();
      },
      error: (error) => finish(Array.isArray(error) ? { errors: error } : { closeCode: (error as { code?: number }).code }),
      complete: () => finish({}),
    },
  );
  return {
    results,
    ended,
    stop,
    received: async (count, timeoutMs = 15_000) => {
      const deadline = Date.now() + timeoutMs;
      while (results.length < count) {
        if (done) throw new Error(`the subscription ended after ${results.length} of ${count} results: ${JSON.stringify(await ended)}`);
        if (Date.now() > deadline) throw new Error(`${results.length} of ${count} results within ${timeoutMs} ms`);
        await new Promise<void>((resolve) => {
          waiters.push(resolve);
          setTimeout(resolve, 100);
        });
      }
      return results;
    },
  };
}
