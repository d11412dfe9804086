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
