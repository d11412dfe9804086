import WebSocket from "ws";
import { PASSWORD, bearer, useApp } from "../support/harness";
import { rawSocket, runOperation, wsClient } from "../support/ws";
import { waitUntil } from "../support/wait";

// SECURITY 54: operations per socket and sockets per user are capped; a flood of subscribe messages closes the socket.
const h = useApp({ WS_MAX_SUBSCRIPTIONS_PER_SOCKET: "3", WS_MAX_SOCKETS_PER_USER: "2" });
const wsUrl = () => `${h.t.baseUrl.replace("http", "ws")}/graphql`;
const POLICY_VIOLATION = 1008;

it("SECURITY 54: a flood of subscribe messages on one socket closes it (1008) once more than WS_MAX_SUBSCRIPTIONS_PER_SOCKET run at once", async () => {
  const { socket, closed } = await rawSocket(wsUrl());
  for (let i = 0; i < 1000; i++) socket.send(JSON.stringify({ id: String(i), type: "subscribe", payload: { query: "{ __typename }" } }));
  expect(await closed).toBe(POLICY_VIOLATION);
});

it("operations one after another never reach the cap: each one ends before the next", async () => {
  const client = wsClient(wsUrl());
  try {
    for (let i = 0; i < 6; i++) expect(await runOperation(client, "{ __typename }")).toEqual({ data: { __typename: "Query" } });
  } finally {
    await client.dispose();
  }
});

/** A socket initialised with `token`: "acked" and the open socket, or the code it was closed with. */
function initialised(token: string): Promise<{ acked: true; socket: WebSocket } | { acked: false; code: number }> {
  return new Promise((resolve) => {
    const socket = new WebSocket(wsUrl(), ["graphql-transport-ws"]);
    socket.on("open", () => socket.send(JSON.stringify({ type: "connection_init", payload: { authorization: bearer(token).authorization } })));
    socket.on("message", (data) => {
      if ((JSON.parse(String(data)) as { type: string }).type === "connection_ack") resolve({ acked: true, socket });
    });
    socket.on("close", (code) => resolve({ acked: false, code }));
  });
}

it("SECURITY 54: at most WS_MAX_SOCKETS_PER_USER sockets per user, across sessions: the next is closed (1008); closing one makes room", async () => {
  const user = await h.signedIn();
  const other = await h.signedIn({ email: user.email, password: PASSWORD }); // a second session of the same user
  const [first, second] = [await initialised(user.accessToken), await initialised(other.accessToken)];
  expect([first.acked, second.acked]).toEqual([true, true]);
  expect(await initialised(user.accessToken)).toEqual({ acked: false, code: POLICY_VIOLATION });
  // Another user is not counted with them.
  const theirs = await initialised((await h.signedIn()).accessToken);
  expect(theirs.acked).toBe(true);
  if (first.acked) first.socket.close();
  const again = await waitUntil("room for another socket", async () => {
    const attempt = await initialised(user.accessToken);
    return attempt.acked ? attempt : null;
  }, 3_000);
  for (const open of [second, again, theirs]) if (open.acked) open.socket.close();
});
