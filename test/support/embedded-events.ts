// Child process of the embedded-mode event test (PGlite cannot load inside Jest's VM): runs one unit
// of work in embedded mode, waits for the relay and the chainer, prints what it saw, and exits.
import "reflect-metadata";
import { createApp } from "../../src/app";
import { loadConfig } from "../../src/config";
import { sql } from "../../src/platform/db/database";
import { createLogger } from "../../src/platform/logging/logger";
import { waitUntil } from "./wait";

async function main(): Promise<void> {
  const app = await createApp(loadConfig(), { logger: createLogger({ level: "info" }) });
  const seen: string[] = [];
  app.platform.events.handlers.on("user.email_verified", "welcome", async (event) => {
    seen.push(event.data.email);
  });
  const { unitOfWork } = app.platform.events;
  const origin = { actor: { type: "anonymous" as const, id: null } };
  await unitOfWork.run(origin, async (scope) => {
    scope.notify({ to: "dev@example.test", template: "password-reset", locale: "en", params: { token: "tok", link: "http://localhost:4001/reset?token=tok" } });
    scope.audit({ action: "user.password_reset_requested" });
  });
  // The pg-path unit of work over PGlite: one commits its write and its event, one rolls back both.
  const insertUser = (email: string) => sql`INSERT INTO users (id, email, updated_at) VALUES (gen_random_uuid(), ${email}, now()) RETURNING id`;
  await unitOfWork.runSql(origin, async (scope) => {
    const [user] = await scope.query<{ id: string }>(insertUser("dev@example.test"));
    scope.publish("user.email_verified", user?.id ?? "", { email: "dev@example.test" });
  });
  const rolledBack = await unitOfWork
    .runSql(origin, async (scope) => {
      const [user] = await scope.query<{ id: string }>(insertUser("gone@example.test"));
      scope.publish("user.email_verified", user?.id ?? "", { email: "gone@example.test" });
      throw new Error("rolled back");
    })
    .catch((error: Error) => error.message);
  await waitUntil("the internal consumer", async () => seen.length === 1);
  await waitUntil("the chained audit record", async () => (await app.platform.database.prisma.auditChainLink.count()) === 1);
  const metrics = await app.metrics.registry.metrics();
  const users = (await app.platform.database.sql.query<{ email: string }>(sql`SELECT email::text FROM users ORDER BY email`)).map((u) => u.email);
  process.stdout.write(`${JSON.stringify({ result: { seen, rolledBack, users, metrics: metrics.split("\n").filter((l) => l.startsWith("outbox_")) } })}\n`);
  await app.stop();
}

main().catch((error: unknown) => {
  process.stderr.write(`${String(error)}\n`);
  process.exit(1);
});
