import type { ServerResponse } from "node:http";

/** A signal that fires when the client goes away before `res` has been answered (its connection closed). */
export function abandonedSignal(res: ServerResponse): AbortSignal {
  const controller = new AbortController();
  res.once("close", () => {
    if (!res.writableFinished) controller.abort();
  });
  return controller.signal;
}
