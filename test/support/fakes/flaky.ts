import { EventEmitter, once } from "node:events";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { performance } from "node:perf_hooks";

/** One answer: a status with optional headers and a JSON body, or "hang": never answer. */
export type FlakyReply = { status: number; headers?: Record<string, string>; body?: unknown } | "hang";

export interface FlakyServer {
  url: string;
  /** Every request, in arrival order, stamped with the server's monotonic clock (ms). */
  readonly calls: { method: string; path: string; at: number }[];
  /** Answers for the next requests, used up in order; then `otherwise` answers. */
  readonly replies: FlakyReply[];
  otherwise: FlakyReply;
  /** Resolves once `count` hung requests have been given up by the client (their connection closed). */
  abandoned(count: number): Promise<void>;
  close(): Promise<void>;
}

/** A loopback HTTP server that answers as it is scripted: errors, Retry-After, or silence. */
export async function startFlakyServer(otherwise: FlakyReply): Promise<FlakyServer> {
  const given = new EventEmitter();
  let abandoned = 0;
  const server = createServer((req, res) => {
    fake.calls.push({ method: req.method ?? "", path: req.url ?? "", at: performance.now() });
    req.resume();
    const reply = fake.replies.shift() ?? fake.otherwise;
    if (reply === "hang") {
      // Never answered, so the response closes only when the connection does.
      res.on("close", () => {
        abandoned++;
        given.emit("abandoned");
      });
      return;
    }
    res.writeHead(reply.status, { "content-type": "application/json", ...reply.headers }).end(JSON.stringify(reply.body ?? {}));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const fake: FlakyServer = {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    calls: [],
    replies: [],
    otherwise,
    async abandoned(count) {
      while (abandoned < count) await once(given, "abandoned");
    },
    close: () => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
  return fake;
}
