import type { Router } from "express";
import express from "express";

/** A dependency the service needs to answer requests. */
export interface ReadinessCheck {
  name: string;
  check(): Promise<void>;
}

const CHECK_TIMEOUT_MS = 2000;

async function probe(check: ReadinessCheck): Promise<[string, "up" | "down"]> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      check.check(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error("timeout")), CHECK_TIMEOUT_MS);
      }),
    ]);
    return [check.name, "up"];
  } catch {
    return [check.name, "down"];
  } finally {
    clearTimeout(timer);
  }
}

/**
 * `/health/live`: the process serves HTTP. `/health/ready`: every dependency answers; otherwise 503
 * naming what is down. Neither exposes versions.
 */
export function healthRouter(checks: readonly ReadinessCheck[], isShuttingDown: () => boolean): Router {
  const router = express.Router();
  router.get("/health/live", (_req, res) => {
    res.json({ status: "ok" });
  });
  router.get("/health/ready", async (_req, res) => {
    const results = Object.fromEntries(await Promise.all(checks.map(probe)));
    const down = Object.entries(results).filter(([, state]) => state === "down").map(([name]) => name);
    if (isShuttingDown()) {
      res.status(503).json({ status: "shutting_down", checks: results });
    } else if (down.length > 0) {
      res.status(503).json({ status: "unavailable", down, checks: results });
    } else {
      res.json({ status: "ok", checks: results });
    }
  });
  return router;
}
