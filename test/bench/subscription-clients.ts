// Subscription clients for the subscriptions benchmark, in helper processes: each holds its share
// of the sockets (raw `ws` speaking graphql-transport-ws: connection_init, then one subscribe) and
// records, per `next` message, the verificationId it carries and when it arrived.
import WebSocket from "ws";
import { HelperProcess, answerQuestions } from "./helper-process";
import { wallClockMs } from "./measure";

/** One socket to open: the index of its user (the bench's numbering) and that user's access token. */
export interface SocketSpec {
  user: number;
  token: string;
}

export interface ClientStatus {
  /** Sockets acknowledged (connection_ack) and still open. */
  open: number;
  /** Of those, sockets that received at least one `next`: their subscription runs. */
  subscribed: number;
  /** Users with an open socket that has received nothing yet. */
  waitingUsers: number[];
  /** `next` messages recorded since the last `take`. */
  received: number;
  /** Failures by cause: refused, closed, timed out, unexpected messages. */
  failures: Record<string, number>;
  /** With `users`: the user of every subscribed socket. */
  subscribedUsers?: number[];
}

/** `next` messages received: verificationIds[i] arrived at times[i] (wall-clock ms). */
export interface Receipts {
  verificationIds: string[];
  times: number[];
}

type Question =
  | { type: "connect"; url: string; query: string; sockets: SocketSpec[]; inFlight: number; timeoutMs: number }
  | { type: "status"; users: boolean }
  | { type: "take" }
  | { type: "disconnect" };

const PROTOCOL = "graphql-transport-ws";
const ID_KEY = '"verificationId":"';
const UUID_LENGTH = 36;

interface Held {
  socket: WebSocket;
  user: number;
  subscribed: boolean;
}

/** The helper's state: its sockets, failures and receipts. */
class Clients {
  private held: Held[] = [];
  private failures = new Map<string, number>();
  private receipts: Receipts = { verificationIds: [], times: [] };
  private closing = false;

  private fail(cause: string): void {
    this.failures.set(cause, (this.failures.get(cause) ?? 0) + 1);
  }

  async connect(question: Extract<Question, { type: "connect" }>): Promise<ClientStatus> {
    let next = 0;
    await Promise.all(
      Array.from({ length: question.inFlight }, async () => {
        while (next < question.sockets.length) await this.open(question.url, question.query, question.sockets[next++] as SocketSpec, question.timeoutMs);
      }),
    );
    return this.status(false);
  }

  /** Opens one socket; resolves once it is acknowledged and subscribed, or has failed. */
  private open(url: string, query: string, spec: SocketSpec, timeoutMs: number): Promise<void> {
    return new Promise((done) => {
      const socket = new WebSocket(url, PROTOCOL, { perMessageDeflate: false, handshakeTimeout: timeoutMs });
      const held: Held = { socket, user: spec.user, subscribed: false };
      let acked = false;
      let settled = false;
      const settle = (failure?: string) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (failure) {
          this.fail(failure);
          socket.terminate();
        } else this.held.push(held);
        done();
      };
      const timer = setTimeout(() => settle(`no connection_ack within ${timeoutMs} ms`), timeoutMs);
      socket.on("open", () => socket.send(JSON.stringify({ type: "connection_init", payload: { authorization: `Bearer ${spec.token}` } })));
      socket.on("message", (data: Buffer) => {
        const at = wallClockMs();
        const text = data.toString();
        if (!acked) {
          const type = (JSON.parse(text) as { type?: string }).type;
          if (type !== "connection_ack") return settle(`${type} instead of connection_ack`);
          acked = true;
          socket.send(JSON.stringify({ id: "1", type: "subscribe", payload: { query } }));
          return settle();
        }
        // The id is read without parsing the message: the receive time is what is measured, not this loop.
        const start = text.indexOf(ID_KEY) + ID_KEY.length;
        if (start < ID_KEY.length || !text.includes('"type":"next"')) return this.fail(`unexpected message ${text.slice(0, 160)}`);
        this.receipts.verificationIds.push(text.slice(start, start + UUID_LENGTH));
        this.receipts.times.push(at);
        held.subscribed = true;
      });
      socket.on("error", (error) => settle(`socket error: ${error.message}`));
      socket.on("close", (code) => {
        if (!acked) settle(`closed (${code}) before connection_ack`);
        else if (!this.closing) this.fail(`closed (${code}) by the server after connection_ack`);
      });
    });
  }

  status(users: boolean): ClientStatus {
    const open = this.held.filter((h) => h.socket.readyState === WebSocket.OPEN);
    const subscribed = open.filter((h) => h.subscribed);
    return {
      open: open.length,
      subscribed: subscribed.length,
      waitingUsers: [...new Set(open.filter((h) => !h.subscribed).map((h) => h.user))],
      received: this.receipts.times.length,
      failures: Object.fromEntries(this.failures),
      ...(users ? { subscribedUsers: subscribed.map((h) => h.user) } : {}),
    };
  }

  take(): Receipts {
    const taken = this.receipts;
    this.receipts = { verificationIds: [], times: [] };
    return taken;
  }

  /** Closes every socket (1000), terminating those whose closing handshake takes over 15 s; forgets all. */
  async disconnect(): Promise<void> {
    this.closing = true;
    const closed = this.held.map(
      ({ socket }) =>
        new Promise<void>((resolve) => {
          if (socket.readyState === WebSocket.CLOSED) return resolve();
          socket.once("close", () => resolve());
          socket.close(1000);
        }),
    );
    const late = setTimeout(() => this.held.forEach(({ socket }) => socket.terminate()), 15_000);
    await Promise.all(closed);
    clearTimeout(late);
    this.held = [];
    this.failures = new Map();
    this.receipts = { verificationIds: [], times: [] };
    this.closing = false;
  }
}

/** The bench's side: `count` helper processes; socket i goes to helper i mod count. */
export class SubscriptionClients {
  private readonly helpers: HelperProcess[];

  constructor(count: number) {
    this.helpers = Array.from({ length: count }, (_, i) => new HelperProcess(__filename, `subscription client ${i}`));
  }

  get count(): number {
    return this.helpers.length;
  }

  private all<T>(question: Question, timeoutMs: number): Promise<T[]> {
    return Promise.all(this.helpers.map((helper) => helper.ask<T>(question, timeoutMs)));
  }

  /** Opens every socket (`inFlight` handshakes at once per helper) and sends each its subscribe. */
  async connect(url: string, query: string, sockets: SocketSpec[], inFlight: number, timeoutMs: number): Promise<ClientStatus> {
    const shares = this.helpers.map((_, h) => sockets.filter((_s, i) => i % this.helpers.length === h));
    // Each round of `inFlight` handshakes may take up to `timeoutMs`.
    const answers = await Promise.all(
      this.helpers.map((helper, h) => {
        const share = shares[h] as SocketSpec[];
        return helper.ask<ClientStatus>({ type: "connect", url, query, sockets: share, inFlight, timeoutMs }, Math.ceil(share.length / inFlight + 1) * timeoutMs);
      }),
    );
    return merge(answers);
  }

  async status(users = false): Promise<ClientStatus> {
    return merge(await this.all<ClientStatus>({ type: "status", users }, 30_000));
  }

  /** Every helper's receipts since the last take (then forgotten there). */
  async take(): Promise<Receipts> {
    const answers = await this.all<Receipts>({ type: "take" }, 60_000);
    return { verificationIds: answers.flatMap((a) => a.verificationIds), times: answers.flatMap((a) => a.times) };
  }

  async disconnect(): Promise<void> {
    await this.all({ type: "disconnect" }, 60_000);
  }

  kill(): void {
    for (const helper of this.helpers) helper.kill();
  }
}

function merge(statuses: ClientStatus[]): ClientStatus {
  const failures: Record<string, number> = {};
  for (const status of statuses) for (const [cause, n] of Object.entries(status.failures)) failures[cause] = (failures[cause] ?? 0) + n;
  const subscribedUsers = statuses.some((s) => s.subscribedUsers) ? statuses.flatMap((s) => s.subscribedUsers ?? []) : undefined;
  return {
    open: statuses.reduce((n, s) => n + s.open, 0),
    subscribed: statuses.reduce((n, s) => n + s.subscribed, 0),
    waitingUsers: [...new Set(statuses.flatMap((s) => s.waitingUsers))],
    received: statuses.reduce((n, s) => n + s.received, 0),
    failures,
    ...(subscribedUsers ? { subscribedUsers } : {}),
  };
}

if (require.main === module) {
  const clients = new Clients();
  answerQuestions(async (question: Question) => {
    switch (question.type) {
      case "connect":
        return clients.connect(question);
      case "status":
        return clients.status(question.users);
      case "take":
        return clients.take();
      case "disconnect":
        return clients.disconnect();
    }
  });
}
