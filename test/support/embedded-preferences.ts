// Child process of the preferences test's embedded-mode case (PGlite cannot load inside Jest's VM):
// a user who turned EMAIL kyc off is sent a kyc-status-changed and a password-changed mail in one
// unit of work; once the relay has handled both, it prints what their outbox rows say, and exits.
// (The log transport writes a line for each notification it sends.)
import "reflect-metadata";
import { createApp } from "../../src/app";
import { loadConfig } from "../../src/config";
import { createLogger } from "../../src/platform/logging/logger";
import { waitUntil } from "./wait";

const EMAIL = "embedded@example.test";

async function main(): Promise<void> {
  const app = await createApp(loadConfig(), { logger: createLogger({ level: "info" }) });
  const { prisma } = app.platform.database;
  const user = await prisma.user.create({ data: { email: EMAIL, status: "ACTIVE" } });
  await prisma.userPreferences.create({ data: { userId: user.id, notifications: [{ channel: "EMAIL", topic: "kyc", enabled: false }], updatedAt: new Date() } });
  await app.platform.events.unitOfWork.run({ actor: { type: "system", id: null } }, async (scope) => {
    scope.notify({ to: EMAIL, template: "kyc-status-changed", locale: "en", params: { status: "APPROVED", level: "BASIC" } });
    scope.notify({ to: EMAIL, template: "password-changed", locale: "en", params: {} });
  });
  const rows = await waitUntil("both mails handled", async () => {
    const handled = await prisma.outboxEvent.findMany({ where: { destination: "notifications", publishedAt: { not: null } }, orderBy: { seq: "asc" } });
    return handled.length === 2 && handled;
  });
  const result = { rows: rows.map((row) => ({ name: row.name, notSent: (row.payload as { notSent?: string }).notSent ?? null })) };
  process.stdout.write(`${JSON.stringify({ result })}\n`);
  await app.stop();
}

main().catch((error: unknown) => {
  process.stderr.write(`${String(error)}\n`);
  process.exit(1);
});
