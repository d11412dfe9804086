// The floor of a live subscription, for the subscriptions benchmark: bare node:http + ws
// forwarding Redis pub/sub, no GraphQL, in a helper process of its own (so that its memory and CPU
// are its own, as the app's are the bench process's). It speaks just enough graphql-transport-ws
// for the same clients: connection_init → connection_ack (the user is the token's `sub`, decoded,
// not verified), subscribe → the socket joins its user's Redis channel (one SUBSCRIBE per user),
// and every message published there is forwarded as a `next`. It also publishes the load itself,
// as the app commits its own.
import { randomUUID } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Redis } from "ioredis";
import { decodeJwt } from "jose";
import { WebSocketServer, type WebSocket } from "ws";
import { HelperProcess, answerQuestions } from "./helper-process";
import { memoryAfterGc, pace, wallClockMs, watchLoadCost, type LoadCost } from "./measure";

const PROTOCOL = "graphql-transport-ws";

/** The measured load as the publisher saw it: verificationIds[i] was published at times[i]. */
export interface Published {
  verificationIds: string[];
  times: number[];
  seconds: number;
  cost: LoadCost;
}

type Question =
  | { type: "start"; redisUrl: string; channelPrefix: string }
  | { type: "memory" }
  | { type: "idle"; ms: number }
  | { type: "publishEach"; userIds: string[] }
  | { type: "load"; userIds: string[]; total: number; perSecond: number }
  | { type: "close" };

interface Subscriber {
  socket: WebSocket;
  operationId: string;
}

/** The helper's side: the server, its Redis connections and who listens to which user. */
class BareServer {
  /** The sockets subscribed to each user's channel. */
  private readonly watchers = new Map<string, Set<Subscriber>>();

  private constructor(
    private readonly http: Server,
    private readonly wss: WebSocketServer,
    private readonly subscriber: Redis,
    private readonly publisher: Redis,
    private readonly channelPrefix: string,
  ) {
    subscriber.on("message", (channel: string, message: string) => {
      for (const { socket, operationId } of this.watchers.get(channel) ?? []) {
        socket.send(`{"id":${JSON.stringify(operationId)},"type":"next","payload":{"data":{"verificationStatusChanged":${message}}}}`);
      }
    });
    wss.on("connection", (socket) => this.serve(socket));
  }

  static async start(redisUrl: string, channelPrefix: string): Promise<{ server: BareServer; port: number }> {
    const http = createServer((_req, res) => res.writeHead(404).end());
    const wss = new WebSocketServer({ server: http, path: "/graphql", perMessageDeflate: false, handleProtocols: (protocols) => (protocols.has(PROTOCOL) ? PROTOCOL : false) });
    const server = new BareServer(http, wss, new Redis(redisUrl), new Redis(redisUrl), channelPrefix);
    await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
    return { server, port: (http.address() as AddressInfo).port };
  }

  private channel(userId: string): string {
    return `${this.channelPrefix}kyc-status:${userId}`;
  }

  private serve(socket: WebSocket): void {
    let userId: string | undefined;
    let watching: Subscriber | undefined;
    socket.on("message", (data: Buffer) => {
      const message = JSON.parse(data.toString()) as { type?: string; id?: string; payload?: { authorization?: string } };
      if (message.type === "connection_init") {
        userId = decodeJwt(String(message.payload?.authorization).slice("Bearer ".length)).sub;
        socket.send('{"type":"connection_ack"}');
      } else if (message.type === "subscribe" && userId && !watching) {
        watching = { socket, operationId: String(message.id) };
        const channel = this.channel(userId);
        let set = this.watchers.get(channel);
        if (!set) {
          this.watchers.set(channel, (set = new Set()));
          void this.subscriber.subscribe(channel);
        }
        set.add(watching);
      }
    });
    socket.on("close", () => {
      const channel = userId ? this.channel(userId) : "";
      const set = this.watchers.get(channel);
      if (!set || !watching) return;
      set.delete(watching);
      if (set.size > 0) return;
      this.watchers.delete(channel);
      void this.subscriber.unsubscribe(channel);
    });
  }

  private publish(userId: string): string {
    const verificationId = randomUUID();
    void this.publisher.publish(this.channel(userId), JSON.stringify({ verificationId, userId, status: "IN_REVIEW", reason: null, occurredAt: new Date().toISOString() }));
    return verificationId;
  }

  async publishEach(userIds: string[]): Promise<void> {
    for (const userId of userIds) this.publish(userId);
    await this.publisher.ping(); // the publishes before it have reached Redis
  }

  /**
   * `total` publishes at `perSecond`, round robin over the users; each one's time is taken as it is
   * sent. Not awaited one by one, as the app's relay does not await its publishes either.
   */
  async load(userIds: string[], total: number, perSecond: number): Promise<Published> {
    const verificationIds: string[] = [];
    const times: number[] = [];
    const stop = watchLoadCost();
    const seconds = await pace(total, perSecond, Number.POSITIVE_INFINITY, async (i) => {
      const at = wallClockMs();
      verificationIds.push(this.publish(userIds[i % userIds.length] as string));
      times.push(at);
    });
    return { verificationIds, times, seconds, cost: stop() };
  }

  async close(): Promise<void> {
    for (const client of this.wss.clients) client.close(1001, "Going away");
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
    this.http.closeAllConnections();
    await new Promise((resolve) => this.http.close(resolve));
    this.subscriber.disconnect();
    this.publisher.disconnect();
  }
}

/** The bench's side of the bare server. */
export class BareSubscriptionServer {
  private constructor(
    private readonly helper: HelperProcess,
    readonly url: string,
  ) {}

  /** Starts it on 127.0.0.1; its channels are `<channelPrefix>kyc-status:<userId>`, as the app's. */
  static async start(redisUrl: string, channelPrefix: string): Promise<BareSubscriptionServer> {
    const helper = new HelperProcess(__filename, "bare subscription server");
    try {
      const { port } = await helper.ask<{ port: number }>({ type: "start", redisUrl, channelPrefix } satisfies Question, 60_000);
      return new BareSubscriptionServer(helper, `ws://127.0.0.1:${port}/graphql`);
    } catch (error) {
      helper.kill();
      throw error;
    }
  }

  memory(): Promise<NodeJS.MemoryUsage> {
    return this.helper.ask({ type: "memory" } satisfies Question, 60_000);
  }

  /** Its CPU and event-loop delay over `ms` with nothing published. */
  idle(ms: number): Promise<LoadCost> {
    return this.helper.ask({ type: "idle", ms } satisfies Question, ms + 60_000);
  }

  /** One status change published to each of these users. */
  async publishEach(userIds: string[]): Promise<void> {
    await this.helper.ask({ type: "publishEach", userIds } satisfies Question, 60_000);
  }

  load(userIds: string[], total: number, perSecond: number): Promise<Published> {
    return this.helper.ask({ type: "load", userIds, total, perSecond } satisfies Question, Math.max(60_000, (total / perSecond) * 10_000));
  }

  /** Closes its sockets and connections, then ends the process; safe to call after a failure. */
  async close(): Promise<void> {
    try {
      await this.helper.ask({ type: "close" } satisfies Question, 30_000);
    } finally {
      this.helper.kill();
    }
  }
}

if (require.main === module) {
  let server: BareServer | undefined;
  const started = () => {
    if (!server) throw new Error("the bare server is not started");
    return server;
  };
  answerQuestions(async (question: Question) => {
    switch (question.type) {
      case "start": {
        const { server: bare, port } = await BareServer.start(question.redisUrl, question.channelPrefix);
        server = bare;
        return { port };
      }
      case "memory":
        return memoryAfterGc();
      case "idle": {
        const stop = watchLoadCost();
        await new Promise((resolve) => setTimeout(resolve, question.ms));
        return stop();
      }
      case "publishEach":
        return started().publishEach(question.userIds);
      case "load":
        return started().load(question.userIds, question.total, question.perSecond);
      case "close":
        return started().close();
    }
  });
}
