// npm run outbox -- parked            lists parked (dead-letter) messages, each with the number of
//                                     its aggregate's later messages on its destination waiting for it
// npm run outbox -- replay <id>...    makes parked messages deliverable again (attempts reset)
// npm run outbox -- replay --all      the same for every parked message
// A running relay picks replayed messages up at its next poll.
import { WAITS_FOR } from "../platform/events/relay";
import { runCli } from "./context";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

runCli("outbox", async ({ database, args }) => {
  const prisma = database.prisma;
  const [command, ...rest] = args;
  if (command === "parked") {
    const rows = await prisma.$queryRaw<{ id: string; destination: string; name: string; attempts: number; parked_at: Date; last_error: string | null; waiting: number }[]>`
      SELECT p.id, p.destination, p.name, p.attempts, p.parked_at, p.last_error,
             (SELECT count(*) FROM outbox_events o WHERE ${WAITS_FOR} AND o.parked_at IS NULL)::int AS waiting
      FROM outbox_events p WHERE p.parked_at IS NOT NULL AND p.published_at IS NULL ORDER BY p.seq`;
    for (const r of rows) process.stdout.write(`${r.id}  ${r.destination}  ${r.name}  attempts=${r.attempts}  parked=${r.parked_at.toISOString()}  waiting=${r.waiting}  ${r.last_error ?? ""}\n`);
    process.stdout.write(`${rows.length} parked, ${rows.reduce((sum, r) => sum + r.waiting, 0)} message(s) waiting behind them\n`);
    return 0;
  }
  if (command === "replay" && rest.length > 0) {
    const all = rest.includes("--all");
    const ids = rest.filter((a) => a !== "--all");
    const bad = ids.filter((id) => !UUID.test(id));
    if (bad.length > 0) throw new Error(`not message ids: ${bad.join(", ")}`);
    const { count } = await prisma.outboxEvent.updateMany({
      where: { parkedAt: { not: null }, publishedAt: null, ...(all ? {} : { id: { in: ids } }) },
      data: { parkedAt: null, attempts: 0, nextAttemptAt: new Date(), lastError: null },
    });
    process.stdout.write(`${count} message(s) replayed\n`);
    return 0;
  }
  process.stderr.write("usage: outbox parked | outbox replay <id>... | outbox replay --all\n");
  return 2;
});
