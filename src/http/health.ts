import type { Route } from "../modules/module";
import { withTimeout } from "../shared/time";
import { sendJson } from "./http-error";

/** A dependency the service needs to answer requests. */
export interface ReadinessCheck {
  name: string;
  check(): Promise<void>;
}

const CHECK_TIMEOUT_MS = 2000;

async function probe(check: ReadinessCheck): Promise<[string, "up" | "down"]> {
  try {
    await withTimeout(check.check(), CHECK_TIMEOUT_MS, () => new Error("timeout"));
    return [check.name, "up"];
  } catch {
    return [check.name, "down"];
  }
}

/**
 * `/health/live`: the process serves HTTP. `/health/ready`: every dependency answers; otherwise 503
 * naming what is down. Neither exposes versions.
 */
export function healthRoutes(checks: readonly ReadinessCheck[], isShuttingDown: () => boolean): Route[] {
  return [
    { method: "GET", path: "/health/live", handle: (_req, res) => sendJson(res, 200, { status: "ok" }) },
    {
      method: "GET",
      path: "/health/ready",
      async handle(_req, res) {
        const results = Object.fromEntries(await Promise.all(checks.map(probe)));
        const down = Object.entries(results).filter(([, state]) => state === "down").map(([name]) => name);
        if (isShuttingDown()) sendJson(res, 503, { status: "shutting_down", checks: results });
        else if (down.length > 0) sendJson(res, 503, { status: "unavailable", down, checks: results });
        else sendJson(res, 200, { status: "ok", checks: results });
      },
    },
  ];
}
