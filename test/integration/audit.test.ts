import { execFile } from "node:child_process";
import { randomUUID } from "node:crypto";
import { promisify } from "node:util";
import { linkHash, verifyAuditChain } from "../../src/platform/audit/chain";
import type { Origin } from "../../src/platform/events/unit-of-work";
import { startTestApp, type TestApp } from "../support/app";
import { withClient } from "../support/db";

const origin: Origin = { actor: { type: "user", id: randomUUID() }, ipAddress: "198.51.100.7", requestId: "req-audit" };

/** A fresh app whose chain holds `n` records, checkpointed every 5. */
async function appWithChain(n: number): Promise<TestApp> {
  const t = await startTestApp({ OUTBOX_RELAY: "false", AUDIT_CHECKPOINT_EVERY: "5" });
  for (let i = 0; i < n; i += 1) {
    await t.app.platform.events.unitOfWork.run(origin, async (scope) => scope.audit({ action: "test.action", subjectType: "thing", subjectId: String(i), metadata: { i } }));
  }
  while ((await t.app.platform.events.chainer.chainOnce()) > 0);
  return t;
}

const verify = (t: TestApp) => verifyAuditChain(t.app.platform.database.prisma, t.app.platform.events.signer);

/** Runs SQL as the table owner with the append-only triggers off: what an intruder with owner rights could do. */
const tamper = (t: TestApp, sql: string) =>
  withClient(t.databaseUrl, (c) => c.query(`ALTER TABLE audit_events DISABLE TRIGGER USER; ALTER TABLE audit_chain DISABLE TRIGGER USER; ${sql}; ALTER TABLE audit_events ENABLE TRIGGER USER; ALTER TABLE audit_chain ENABLE TRIGGER USER;`));

const auditIdAt = (seq: number) => `(SELECT audit_id FROM audit_chain WHERE seq = ${seq})`;

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
      const links = await prisma.auditChainLink.findMany({ orderBy: { seq: "asc" } });
      const order = [...links.slice(0, 2).map((l) => l.auditId), forged.id, ...links.slice(2).map((l) => l.auditId)];
      const records = new Map((await prisma.auditEvent.findMany()).map((r) => [r.id, r]));
      let prev = "0".repeat(64);
      const rewritten = order.map((auditId, i) => {
        const hash = linkHash(prev, records.get(auditId)!);
        const row = `(${i + 1}, ${auditId}, '${prev}', '${hash}')`;
        prev = hash;
        return row;
      });
      await tamper(t, `DELETE FROM audit_chain; INSERT INTO audit_chain (seq, audit_id, prev_hash, hash) VALUES ${rewritten.join(", ")}`);
      expect(await verify(t)).toMatchObject({ ok: false, firstBadSeq: "5", reason: "checkpoint signature or hash does not match" });
    } finally {
      await t.stop();
    }
  });

  it("npm run audit:verify reports a tampered row by its sequence number", async () => {
    const t = await appWithChain(6);
    try {
      const run = (env: Record<string, string>) =>
        promisify(execFile)(process.execPath, ["-r", "@swc-node/register", "src/cli/audit-verify.ts"], { env: { ...process.env, ...env } }).then(
          (r) => ({ code: 0, out: r.stdout }),
          (e: { code: number; stdout: string }) => ({ code: e.code, out: e.stdout }),
        );
      const env = { DATABASE_URL: t.databaseUrl, REDIS_URL: "redis://127.0.0.1:6379", LOG_LEVEL: "warn" };
      expect(await run(env)).toEqual({ code: 0, out: "audit chain intact: 6 records, 1 signed checkpoints, 0 not yet chained\n" });
      await tamper(t, `UPDATE audit_events SET outcome = 'failure' WHERE id = ${auditIdAt(4)}`);
      const broken = await run(env);
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
