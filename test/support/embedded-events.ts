// Child process of the embedded-mode event test (PGlite cannot load inside Jest's VM): runs one unit
// of work in embedded mode, waits for the relay and the chainer, prints what it saw, and exits.
import "reflect-metadata";
import { createApp } from "../../src/app";
import { loadConfig } from "../../src/config";
import { createLogger } from "../../src/platform/logging/logger";
import { waitUntil } from "./wait";

async function main(): Promise<void> {
  const app = await createApp(loadConfig(), { logger: createLogger({ level: "info" }) });
  const seen: string[] = [];
  app.platform.events.handlers.on("user.email_verified", "welcome", async (event) => {
    seen.push(event.data.email);
  });
  await app.platform.events.unitOfWork.run({ actor: { type: "anonymous", id: null } }, async (scope) => {
    scope.notify({ to: "dev@example.test", template: "password-reset", locale: "en", params: { token: "tok", link: "http://localhost:4001/reset?token=tok" } });
    scope.publish("user.email_verified", "4b0c1d2e-0000-4000-8000-000000000001", { email: "dev@example.test" });
    scope.audit({ action: "user.password_reset_requested" });
  });
  await waitUntil("the internal consumer", async () => seen.length === 1);
  await waitUntil("the chained audit record", async () => (await app.platform.database.prisma.auditChainLink.count()) === 1);
  const metrics = await app.metrics.registry.metrics();
  process.stdout.write(`${JSON.stringify({ result: { seen, metrics: metrics.split("\n").filter((l) => l.startsWith("outbox_")) } })}\n`);
  await app.stop();
}

main().catch((error: unknown) => {
  process.stderr.write(`${String(error)}\n`);
  process.exit(1);
});
