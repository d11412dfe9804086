import { execFile } from "node:child_process";
import { randomUUID } from "node:crypto";
import { promisify } from "node:util";
import { auditVerify } from "../../src/cli/audit-verify";
import { CheckpointSigner, linkHash, verifyAuditChain } from "../../src/platform/audit/chain";
import type { Origin } from "../../src/platform/events/unit-of-work";
import { startTestApp, type TestApp } from "../support/app";
import { withClient } from "../support/db";
import { uniqueSuffix } from "../support/env";
import { QueueReader } from "../support/queues";
import { waitUntil } from "../support/wait";

const origin: Origin = { actor: { type: "user", id: randomUUID() }, ipAddress: "198.51.100.7", requestId: "req-audit" };

const addRecords = async (t: TestApp, n: number) => {
  for (let i = 0; i < n; i += 1) {
    await t.app.platform.events.unitOfWork.run(origin, async (scope) => scope.audit({ action: "test.action", subjectType: "thing", subjectId: String(i), metadata: { i } }));
  }
};

const chainAll = async (t: TestApp) => {
  while ((await t.app.platform.events.chainer.chainOnce()) > 0);
};

/** A fresh app whose chain holds `n` records, checkpointed every 5. */
async function appWithChain(n: number): Promise<TestApp> {
  const t = await startTestApp({ OUTBOX_RELAY: "false", AUDIT_CHECKPOINT_EVERY: "5" });
  await addRecords(t, n);
  await chainAll(t);
  return t;
}

const verify = (t: TestApp) => verifyAuditChain(t.app.platform.database.prisma, t.app.platform.events.signer, { checkpointEvery: t.app.config.AUDIT_CHECKPOINT_EVERY });

/** `npm run audit:verify -- <args>` through the command's own function: its exit code and output. */
async function runVerify(t: TestApp, args: string[] = []): Promise<{ code: number; out: string }> {
  let out = "";
  const code = await auditVerify({ config: t.app.config, database: t.app.platform.database, args }, (text) => (out += text));
  return { code, out };
}

const AUDIT_TABLES = ["audit_events", "audit_chain", "audit_checkpoints"];

/** Runs SQL as the table owner with the append-only triggers off: what an intruder with owner rights could do. */
const tamper = (t: TestApp, sql: string) =>
  withClient(t.databaseUrl, (c) =>
    c.query(`${AUDIT_TABLES.map((table) => `ALTER TABLE ${table} DISABLE TRIGGER USER;`).join(" ")} ${sql}; ${AUDIT_TABLES.map((table) => `ALTER TABLE ${table} ENABLE TRIGGER USER;`).join(" ")}`),
  );

const auditIdAt = (seq: number) => `(SELECT audit_id FROM audit_chain WHERE seq = ${seq})`;

/** Replaces the chain by links over `order` (audit ids), every hash recomputed: a forger without the signing key. */
async function forgeChain(t: TestApp, order: bigint[]): Promise<Map<number, string>> {
  const records = new Map((await t.app.platform.database.prisma.auditEvent.findMany()).map((r) => [r.id, r]));
  let prev = "0".repeat(64);
  const hashes = new Map<number, string>();
  const rows = order.map((auditId, i) => {
    const hash = linkHash(prev, records.get(auditId)!);
    const row = `(${i + 1}, ${auditId}, '${prev}', '${hash}')`;
    hashes.set(i + 1, hash);
    prev = hash;
    return row;
  });
  await tamper(t, `DELETE FROM audit_chain; INSERT INTO audit_chain (seq, audit_id, prev_hash, hash) VALUES ${rows.join(", ")}`);
  return hashes;
}

const chainOrder = async (t: TestApp) => (await t.app.platform.database.prisma.auditChainLink.findMany({ orderBy: { seq: "asc" } })).map((l) => l.auditId);

/** The latest checkpoint the app published in its log, as audit:verify's `--published` takes it. */
const lastPublished = (t: TestApp) => t.logs().filter((line) => line.msg === "audit checkpoint signed").at(-1)?.published as string;

describe("audit chain", () => {
  it("chains committed records in order, checkpoints every 5 and verifies intact", async () => {
    const t = await appWithChain(12);
    try {
      expect(await verify(t)).toEqual({ ok: true, links: 12, checkpoints: 2, unchained: 0 });
      const links = await t.app.platform.database.prisma.auditChainLink.findMany({ orderBy: { seq: "asc" } });
      expect(links[0]?.prevHash).toBe("0".repeat(64));
      expect(links.slice(1).every((link, i) => link.prevHash === links[i]?.hash)).toBe(true);
    } finally {
      await t.stop();
    }
  });

  it("extends the chain from its head batch after batch, past the ninth link (the head is the highest sequence number, not the last in text order)", async () => {
    const t = await startTestApp({ OUTBOX_RELAY: "false", AUDIT_CHECKPOINT_EVERY: "5" });
    try {
      for (let batch = 0; batch < 12; batch += 1) {
        await addRecords(t, 1);
        expect(await t.app.platform.events.chainer.chainOnce()).toBe(1);
      }
      expect(await verify(t)).toEqual({ ok: true, links: 12, checkpoints: 2, unchained: 0 });
    } finally {
      await t.stop();
    }
  });

  it.each([
    ["an edited record", `UPDATE audit_events SET action = 'innocent' WHERE id = ${auditIdAt(3)}`, "3", /does not match its hash/],
    ["a deleted record", `DELETE FROM audit_events WHERE id = ${auditIdAt(3)}`, "3", /is missing/],
    ["a deleted link", `DELETE FROM audit_chain WHERE seq = 3`, "3", /link 3 is missing/],
    [
      "two reordered records",
      `CREATE TEMP TABLE s AS SELECT seq, audit_id FROM audit_chain WHERE seq IN (3, 4);
       UPDATE audit_chain SET audit_id = -audit_id WHERE seq IN (3, 4);
       UPDATE audit_chain c SET audit_id = (SELECT s.audit_id FROM s WHERE s.seq = 7 - c.seq) WHERE c.seq IN (3, 4)`,
      "3",
      /does not match its hash/,
    ],
  ])("names the first bad sequence number after %s", async (_case, sql, seq, reason) => {
    const t = await appWithChain(8);
    try {
      await tamper(t, sql);
      const result = await verify(t);
      expect(result).toMatchObject({ ok: false, firstBadSeq: seq });
      expect(result.ok === false && result.reason).toMatch(reason);
    } finally {
      await t.stop();
    }
  });

  it("catches an inserted record even when the intruder recomputes every hash after it, at the next signed checkpoint", async () => {
    const t = await appWithChain(8);
    try {
      const prisma = t.app.platform.database.prisma;
      // Forge: a record inserted at position 3; links 3.. renumbered and re-hashed consistently.
      await tamper(t, `INSERT INTO audit_events (actor_type, action, outcome) VALUES ('user', 'forged', 'success')`);
      const forged = await prisma.auditEvent.findFirstOrThrow({ where: { action: "forged" } });
      const order = await chainOrder(t);
      await forgeChain(t, [...order.slice(0, 2), forged.id, ...order.slice(2)]);
      expect(await verify(t)).toMatchObject({ ok: false, firstBadSeq: "5", reason: "checkpoint signature or hash does not match" });
    } finally {
      await t.stop();
    }
  });

  it("npm run audit:verify reports a tampered row by its sequence number", async () => {
    const t = await appWithChain(6);
    try {
      const run = (env: Record<string, string>, args: string[] = []) =>
        promisify(execFile)(process.execPath, ["-r", "@swc-node/register", "src/cli/audit-verify.ts", ...args], { env: { ...process.env, ...env } }).then(
          (r) => ({ code: 0, out: r.stdout }),
          (e: { code: number; stdout: string }) => ({ code: e.code, out: e.stdout }),
        );
      const env = { DATABASE_URL: t.databaseUrl, REDIS_URL: "redis://127.0.0.1:6379", LOG_LEVEL: "warn" };
      const tailUnchecked = "tail unchecked: give --published <seq>:<hash> of the latest published checkpoint";
      expect(await run(env)).toEqual({ code: 0, out: `audit chain intact: 6 records, 1 signed checkpoints, 0 not yet chained; ${tailUnchecked}\n` });
      await tamper(t, `UPDATE audit_events SET outcome = 'failure' WHERE id = ${auditIdAt(4)}`);
      const broken = await run(env, ["--published", lastPublished(t)]);
      expect(broken.code).toBe(1);
      expect(broken.out).toMatch(/^audit chain BROKEN at sequence number 4: audit record \d+ does not match its hash \(edited\)/);
    } finally {
      await t.stop();
    }
  }, 30_000);

  it("refuses UPDATE and DELETE of audit rows: to the app role by grants, to anyone by trigger", async () => {
    const t = await appWithChain(1);
    try {
      await withClient(t.databaseUrl, async (c) => {
        await expect(c.query(`SET ROLE identity_app; UPDATE audit_events SET action = 'x'`)).rejects.toThrow(/permission denied for table audit_events/);
        await c.query("RESET ROLE");
        await expect(c.query(`SET ROLE identity_app; DELETE FROM audit_chain`)).rejects.toThrow(/permission denied for table audit_chain/);
        await c.query("RESET ROLE");
        await expect(c.query(`UPDATE audit_events SET action = 'x'`)).rejects.toThrow(/audit records are append-only \(UPDATE on audit_events\)/);
        await expect(c.query(`TRUNCATE audit_checkpoints`)).rejects.toThrow(/append-only \(TRUNCATE on audit_checkpoints\)/);
        await c.query("SET ROLE identity_app");
        expect((await c.query(`INSERT INTO audit_events (actor_type, action, outcome) VALUES ('system', 'ok', 'success')`)).rowCount).toBe(1);
      });
    } finally {
      await t.stop();
    }
  });
});

describe("issue 10 item 4: a rewrite, a cut tail or an unchained old record fails audit:verify (SECURITY 59)", () => {
  /** Record 2 edited, every link recomputed after it; the checkpoints then treated by `checkpoints`. */
  async function rewriteFromRecord2(t: TestApp): Promise<Map<number, string>> {
    await tamper(t, `UPDATE audit_events SET outcome = 'failure' WHERE id = ${auditIdAt(2)}`);
    return forgeChain(t, await chainOrder(t));
  }

  it.each([
    ["deleted", () => "DELETE FROM audit_checkpoints", /^audit chain BROKEN at sequence number 5: checkpoint 5 is missing/],
    [
      "rewritten under another key",
      (hashes: Map<number, string>) => {
        const forger = new CheckpointSigner(Buffer.alloc(32, 7));
        return [5, 10].map((seq) => `UPDATE audit_checkpoints SET hash = '${hashes.get(seq)}', signature = '${forger.sign(BigInt(seq), hashes.get(seq)!)}' WHERE seq = ${seq}`).join("; ");
      },
      /^audit chain BROKEN at sequence number 5: checkpoint signature or hash does not match/,
    ],
  ])("issue 10 item 4: audit:verify fails naming the checkpoint after a record is edited, every later link recomputed and the checkpoints %s (SECURITY 59)", async (_case, checkpoints, expected) => {
    const t = await appWithChain(12);
    try {
      const hashes = await rewriteFromRecord2(t);
      await tamper(t, checkpoints(hashes));
      const result = await runVerify(t);
      expect(result.code).toBe(1);
      expect(result.out).toMatch(expected);
    } finally {
      await t.stop();
    }
  });

  it.each([
    [
      "the tail cut after the last checkpoint",
      async (t: TestApp) =>
        tamper(t, `DELETE FROM audit_checkpoints WHERE seq > 7; DELETE FROM audit_events WHERE id IN (SELECT audit_id FROM audit_chain WHERE seq > 7); DELETE FROM audit_chain WHERE seq > 7`),
      /^audit chain BROKEN at sequence number 8: the chain ends at 7, before the published checkpoint 10 \(records removed\)/,
    ],
    [
      "a record edited and the chain cut back before it, then re-chained and re-signed by the chainer",
      async (t: TestApp) => {
        await tamper(t, `UPDATE audit_events SET outcome = 'failure' WHERE id = ${auditIdAt(2)}; DELETE FROM audit_checkpoints; DELETE FROM audit_chain WHERE seq >= 2`);
        await chainAll(t);
      },
      /^audit chain BROKEN at sequence number 10: link 10 does not match the published checkpoint \(chain rewritten\)/,
    ],
  ])("issue 10 item 4: audit:verify --published fails against the last published checkpoint after %s (SECURITY 59)", async (_case, cut, expected) => {
    const t = await appWithChain(12);
    try {
      const published = lastPublished(t);
      expect(published).toMatch(/^10:[0-9a-f]{64}$/);
      await cut(t);
      const result = await runVerify(t, ["--published", published]);
      expect(result.code).toBe(1);
      expect(result.out).toMatch(expected);
    } finally {
      await t.stop();
    }
  });

  it("issue 10 item 4: every signed checkpoint is published on user-events as audit.checkpoint and the latest is logged (SECURITY 59)", async () => {
    const prefix = `test-${uniqueSuffix()}`;
    const t = await startTestApp({ AUDIT_CHECKPOINT_EVERY: "5", OUTBOX_POLL_INTERVAL_MS: "100", QUEUE_PREFIX: prefix });
    const queues = new QueueReader(prefix);
    try {
      await addRecords(t, 10);
      const jobs = await waitUntil("two audit.checkpoint jobs", async () => {
        const found = (await queues.jobs("user-events")).filter((job) => job.name === "audit.checkpoint");
        return found.length === 2 && found;
      });
      const checkpoints = await t.app.platform.database.prisma.auditCheckpoint.findMany({ orderBy: { seq: "asc" } });
      const events = jobs.map((job) => job.data as { data: { seq: number } }).sort((a, b) => a.data.seq - b.data.seq);
      expect(events).toEqual(
        checkpoints.map((c) =>
          expect.objectContaining({ type: "audit.checkpoint", aggregateType: "audit_chain", actorId: null, data: { seq: Number(c.seq), hash: c.hash, keyId: c.keyId, signature: c.signature } }),
        ),
      );
      expect(lastPublished(t)).toBe(`10:${checkpoints[1]?.hash}`);
      expect(await runVerify(t, ["--published", lastPublished(t)])).toEqual({
        code: 0,
        out: "audit chain intact: 10 records, 2 signed checkpoints, 0 not yet chained; published checkpoint 10 matches\n",
      });
    } finally {
      await queues.close();
      await t.stop();
    }
  });

  /** Moves the chain's newest record 20,000 ids on, past the chainer's look-back window of 10,000. */
  async function jumpAheadOfWindow(t: TestApp): Promise<void> {
    await withClient(t.databaseUrl, (c) => c.query(`SELECT setval('audit_events_id_seq', 20000)`));
    await addRecords(t, 1);
    await chainAll(t);
  }

  it("issue 10 item 4: audit:verify fails on an unchained record older than the chainer's look-back window (SECURITY 59)", async () => {
    const t = await appWithChain(3);
    try {
      await jumpAheadOfWindow(t);
      await tamper(t, `INSERT INTO audit_events (id, actor_type, action, outcome) VALUES (5000, 'user', 'backdated', 'success')`);
      await chainAll(t);
      const result = await runVerify(t);
      expect(result.code).toBe(1);
      expect(result.out).toMatch(/^audit chain BROKEN: audit record 5000 is not chained and is older than the chainer's window/);
    } finally {
      await t.stop();
    }
  });

  it("issue 10 item 4: the database refuses audit records the chain cannot reach: a commit after the window passed it, an id below the window, an id the app role chose (SECURITY 59)", async () => {
    const t = await appWithChain(1);
    try {
      await withClient(t.databaseUrl, async (late) => {
        await late.query("BEGIN; SET LOCAL ROLE identity_app");
        const { rows } = await late.query<{ id: string }>(`INSERT INTO audit_events (actor_type, action, outcome) VALUES ('user', 'late', 'success') RETURNING id`);
        await jumpAheadOfWindow(t);
        await expect(late.query("COMMIT")).rejects.toThrow(new RegExp(`audit record ${rows[0]?.id} is out of the chain's reach`));
      });
      await withClient(t.databaseUrl, async (c) => {
        await expect(c.query(`INSERT INTO audit_events (id, actor_type, action, outcome) VALUES (5000, 'user', 'backdated', 'success')`)).rejects.toThrow(/audit record 5000 is out of the chain's reach/);
        await c.query("SET ROLE identity_app");
        await expect(c.query(`INSERT INTO audit_events (id, actor_type, action, outcome) VALUES (30000, 'user', 'chosen', 'success')`)).rejects.toThrow(/permission denied for table audit_events/);
      });
      expect(await t.app.platform.database.prisma.auditEvent.count({ where: { action: { in: ["late", "backdated", "chosen"] } } })).toBe(0);
    } finally {
      await t.stop();
    }
  });
});
