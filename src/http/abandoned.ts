import type { ServerResponse } from "node:http";

/**
 * A signal that fires when the client goes away before `res` has been answered (its connection
 * closed); already aborted when that has happened before it is asked for.
 */
export function abandonedSignal(res: ServerResponse): AbortSignal {
  const controller = new AbortController();
  const closed = () => {
    if (!res.writableFinished) controller.abort();
  };
  if (res.destroyed) closed();
  else res.once("close", closed);
  return controller.signal;
}
