import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";

/** The machinery every provider fake shares: a loopback server that can fail, hang or go down, and a webhook sender. */

export interface FakeRequest {
  method: string;
  /** The request target as sent, path and query unnormalised (what a request signature covers). */
  target: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

export interface FakeReply {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

export type FailureStatus = 408 | 429 | 500 | 502 | 503 | 504;

export interface FakeServerOptions {
  handle(request: FakeRequest): FakeReply | Promise<FakeReply>;
  /** The provider's own error body for a forced failure. */
  errorBody(status: FailureStatus): unknown;
}

const readBody = (req: IncomingMessage) =>
  new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });

/** Stops listening and drops every open connection (keep-alive ones too, or a pooled client would still get through). */
const closeServer = (server: Server) =>
  new Promise<void>((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });

const listen = (server: Server, port: number) =>
  new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });

/**
 * A JSON server on 127.0.0.1 with the outages a breaker must survive: `failNext` answers the next
 * requests with 429/5xx (and Retry-After), `hang` accepts requests and never answers them, `down`
 * refuses connections (the port stays ours: `up` listens on it again).
 */
export async function startFakeServer(options: FakeServerOptions) {
  const failures: { status: FailureStatus; retryAfter: number | undefined; body: unknown }[] = [];
  const requests: FakeRequest[] = [];
  const holds: { matches(request: FakeRequest): boolean; arrived(): void; released: Promise<void> }[] = [];
  let hanging = false;
  const server = createServer(async (req, res) => {
    const target = req.url ?? "/";
    const url = new URL(target, "http://fake");
    const body = await readBody(req).catch(() => null);
    // The client went away midway: nobody to answer.
    if (!body) return;
    const request: FakeRequest = { method: req.method ?? "GET", target, path: url.pathname, query: url.searchParams, headers: req.headers, body };
    requests.push(request);
    if (hanging) return; // held until close() drops the connection
    const hold = holds.find((h) => h.matches(request));
    if (hold) {
      holds.splice(holds.indexOf(hold), 1);
      hold.arrived();
      await hold.released;
    }
    const failure = failures.shift();
    let reply: FakeReply;
    try {
      reply = failure
        ? { status: failure.status, body: failure.body ?? options.errorBody(failure.status), headers: failure.retryAfter === undefined ? {} : { "retry-after": String(failure.retryAfter) } }
        : await options.handle(request);
    } catch (error) {
      // A bug in the fake: a 500 that says so, rather than an unhandled rejection.
      reply = { status: 500, body: { error: { type: "fake_bug", message: String(error) } } };
    }
    res.writeHead(reply.status, { "content-type": "application/json", ...reply.headers }).end(JSON.stringify(reply.body));
  });
  await listen(server, 0);
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    /** Every request received, in order (answered or not). */
    requests,
    /** The next `count` requests get `status` (with `Retry-After: retryAfter` seconds when given, and `body` rather than the provider's usual error body). */
    failNext(count: number, status: FailureStatus, retryAfter?: number, body?: unknown): void {
      for (let i = 0; i < count; i += 1) failures.push({ status, retryAfter, body });
    },
    /** The next request that `matches` waits, read, until `release()` (then it is answered as any other); `arrived` resolves once it came. */
    holdNext(matches: (request: FakeRequest) => boolean): { arrived: Promise<void>; release(): void } {
      let arrived!: () => void;
      let release!: () => void;
      const hold = { matches, arrived: () => arrived(), released: new Promise<void>((resolve) => (release = resolve)) };
      holds.push(hold);
      return { arrived: new Promise<void>((resolve) => (arrived = resolve)), release: () => release() };
    },
    /** While on, requests are read and never answered. */
    hang(on: boolean): void {
      hanging = on;
    },
    /** Stops listening and drops open connections: new connections are refused. */
    down: () => closeServer(server),
    up: () => listen(server, port),
    close: () => closeServer(server),
  };
}

export type FakeServer = Awaited<ReturnType<typeof startFakeServer>>;

/** A provider fake's server with its webhook sender, and the timers it set for itself cleared when it closes. */
export async function startProviderFake({ webhooks, timers, ...options }: FakeServerOptions & { webhooks: WebhookSender; timers: FakeTimers }) {
  const server = await startFakeServer(options);
  return {
    ...server,
    webhooks,
    setWebhookUrl(url: string | undefined): void {
      webhooks.url = url;
    },
    async close(): Promise<void> {
      timers.clear();
      await server.close();
    },
  };
}

/** A multipart/form-data body, read the way a server reads it (undici's parser). */
export interface Multipart {
  fields: Record<string, string>;
  files: Record<string, { name: string; type: string; content: Buffer }>;
}

export async function readMultipart(request: FakeRequest): Promise<Multipart | null> {
  const type = request.headers["content-type"] ?? "";
  if (!type.startsWith("multipart/form-data")) return null;
  let form: FormData;
  try {
    form = await new Response(request.body, { headers: { "content-type": type } }).formData();
  } catch {
    return null;
  }
  const parsed: Multipart = { fields: {}, files: {} };
  for (const [name, value] of form.entries()) {
    if (typeof value === "string") parsed.fields[name] = value;
    else parsed.files[name] = { name: value.name, type: value.type, content: Buffer.from(await value.arrayBuffer()) };
  }
  return parsed;
}

export interface Delivery {
  event: string;
  body: string;
  headers: Record<string, string>;
  /** The receiver's answer, or null when the POST failed (then `error` says why). */
  status: number | null;
  error: string | null;
}

export interface WebhookOptions {
  webhookUrl?: string;
  /** Every event is posted twice, byte for byte (providers retry, and at-least-once means duplicates). */
  deliverTwice?: boolean;
  /** Each event is held until the next one, which is posted first (`flush` posts one still held). */
  outOfOrder?: boolean;
}

/**
 * Posts signed events to the receiver one at a time, in a deterministic order, and logs each
 * attempt. `sign` runs at each attempt, as providers sign at delivery (Stripe's `t`).
 */
export class WebhookSender {
  url: string | undefined;
  deliverTwice: boolean;
  outOfOrder: boolean;
  readonly deliveries: Delivery[] = [];
  private held: { event: string; body: string } | null = null;
  private queue: Promise<void> = Promise.resolve();

  constructor(
    private readonly sign: (body: string) => Record<string, string>,
    options: WebhookOptions,
  ) {
    this.url = options.webhookUrl;
    this.deliverTwice = options.deliverTwice ?? false;
    this.outOfOrder = options.outOfOrder ?? false;
  }

  emit(event: string, body: string): void {
    if (!this.outOfOrder) return this.post(event, body);
    if (!this.held) {
      this.held = { event, body };
      return;
    }
    const older = this.held;
    this.held = null;
    this.post(event, body);
    this.post(older.event, older.body);
  }

  /** Posts the event held back by `outOfOrder`, if any. */
  flush(): void {
    if (this.held) this.post(this.held.event, this.held.body);
    this.held = null;
  }

  /** Resolves once every delivery started so far is done. */
  idle(): Promise<void> {
    return this.queue;
  }

  private post(event: string, body: string): void {
    for (let i = 0; i < (this.deliverTwice ? 2 : 1); i += 1) this.queue = this.queue.then(() => this.attempt(event, body));
  }

  private async attempt(event: string, body: string): Promise<void> {
    const headers = { "content-type": "application/json", ...this.sign(body) };
    const delivery: Delivery = { event, body, headers, status: null, error: null };
    this.deliveries.push(delivery);
    if (!this.url) {
      delivery.error = "no webhook URL set";
      return;
    }
    try {
      const response = await fetch(this.url, { method: "POST", headers, body, signal: AbortSignal.timeout(10_000) });
      await response.arrayBuffer();
      delivery.status = response.status;
    } catch (error) {
      delivery.error = String(error);
    }
  }
}

/** Timers a fake sets for itself (autoDecide), cleared when it closes. */
export class FakeTimers {
  private readonly pending = new Set<NodeJS.Timeout>();

  after(ms: number, run: () => void): void {
    const timer = setTimeout(() => {
      this.pending.delete(timer);
      run();
    }, ms);
    this.pending.add(timer);
  }

  clear(): void {
    for (const timer of this.pending) clearTimeout(timer);
    this.pending.clear();
  }
}

export interface ReceivedWebhook {
  body: Buffer;
  headers: IncomingHttpHeaders;
}

/** A local webhook endpoint: keeps each POST's raw bytes and headers, answers 200. */
export async function startWebhookReceiver() {
  const received: ReceivedWebhook[] = [];
  const server = createServer(async (req, res) => {
    received.push({ body: await readBody(req), headers: req.headers });
    res.writeHead(200).end();
  });
  await listen(server, 0);
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/webhooks`,
    received,
    close: () => closeServer(server),
  };
}

/** A webhook receiver for each test of the file: opened (empty) before it, closed after it. */
export function webhookReceiverPerTest(): { readonly url: string; readonly received: ReceivedWebhook[] } {
  let current: Awaited<ReturnType<typeof startWebhookReceiver>> | undefined;
  beforeEach(async () => {
    current = await startWebhookReceiver();
  });
  afterEach(() => current?.close());
  const open = () => {
    if (!current) throw new Error("the webhook receiver is open only while a test runs");
    return current;
  };
  return {
    get url() {
      return open().url;
    },
    get received() {
      return open().received;
    },
  };
}
