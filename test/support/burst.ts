// Child process of the durability test: commits units of work as fast as it can, every fourth one
// rolled back, and reports each outcome on stdout ("commit <event id>" / "rollback <event id>")
// until it is killed.
import "reflect-metadata";
import { randomUUID } from "node:crypto";
import { createApp } from "../../src/app";
import { loadConfig } from "../../src/config";
import { createLogger } from "../../src/platform/logging/logger";

async function main(): Promise<void> {
  const config = loadConfig();
  const app = await createApp(config, { logger: createLogger({ level: "warn" }) });
  process.stdout.write("ready\n");
  for (let i = 1; ; i += 1) {
    let eventId = "";
    try {
      await app.platform.events.unitOfWork.run({ actor: { type: "system", id: null } }, async (scope) => {
        const userId = randomUUID();
        eventId = scope.publish("user.registered", userId, { email: `${userId}@example.test`, locale: "en" });
        scope.audit({ action: "burst.step", metadata: { i } });
        if (i % 4 === 0) throw new Error("rolled back on purpose");
      });
      process.stdout.write(`commit ${eventId}\n`);
    } catch {
      process.stdout.write(`rollback ${eventId}\n`);
    }
  }
}

void main();
