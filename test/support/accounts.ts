import { randomInt, randomUUID } from "node:crypto";
import type { Clock } from "../../src/platform/clock";
import { startTestApp, type TestApp } from "./app";
import { uniqueSuffix } from "./env";
import { QueueReader } from "./queues";
import { waitUntil } from "./wait";

export const PASSWORD = "Correct-Horse-42!";

/** Each request from its own client address (through the trusted local proxy): per-IP limits stay out of the way. */
export const fromNewIp = () => ({ "x-forwarded-for": `198.51.${randomInt(256)}.${randomInt(256)}` });
export const newEmail = () => `${randomUUID()}@example.test`;
/** A new address in four spellings that PostgreSQL's citext takes for one (`İ` folds to `i` there) and JavaScript's toLowerCase does not. */
export function citextSpellings(): string[] {
  const rest = newEmail();
  return ["ii", "İi", "iİ", "İİ"].map((head) => `${head}${rest}`);
}

export interface AccountsHarness {
  t: TestApp;
  queues: QueueReader;
  /** The notification job of `template` sent to `email`, once the relay has delivered it. */
  mailTo(email: string, template: string): Promise<{ params: Record<string, string> }>;
}

/** Registers beforeAll/afterAll for an app with fast bcrypt and relay (and `clock`, when given), and a reader of its queues. */
export function useAccountsApp(clock?: Clock): AccountsHarness {
  const harness = {} as AccountsHarness;
  beforeAll(async () => {
    const prefix = `test-${uniqueSuffix()}`;
    harness.t = await startTestApp({ BCRYPT_COST: "4", QUEUE_PREFIX: prefix, OUTBOX_POLL_INTERVAL_MS: "100", PUBLIC_URL: "https://id.example.test", TRUSTED_PROXIES: "127.0.0.1", COUNTRY_HEADER: "cf-ipcountry" }, clock);
    harness.queues = new QueueReader(prefix);
  });
  afterAll(async () => {
    await harness.queues.close();
    await harness.t.stop();
  });
  harness.mailTo = async (email, template) => {
    const job = await waitUntil(`${template} to ${email}`, async () =>
      (await harness.queues.jobs("notifications")).find((j) => j.name === template && (j.data as { to: string }).to === email),
    );
    return job.data as { params: Record<string, string> };
  };
  return harness;
}
