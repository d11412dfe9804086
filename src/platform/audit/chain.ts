import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import { BackgroundLoop } from "../background-loop";
import { sql, type Prisma } from "../db/database";
import type { Origin, UnitOfWork } from "../events/unit-of-work";
import type { Logger } from "../logging/logger";

export const GENESIS_HASH = "0".repeat(64);
/** Serialises chainers across instances (transaction-scoped advisory lock). */
const CHAIN_LOCK_KEY = 72707370;
/** The chainer's own unit of work: it audits nothing, it publishes the checkpoints it signs. */
const CHAINER: Origin = { actor: { type: "system", id: null } };
/** The aggregate of `audit.checkpoint` events: one, so they leave in chain order. */
const CHAIN_AGGREGATE = "audit_chain";

export interface AuditRecord {
  id: bigint;
  occurredAt: Date;
  actorType: string;
  actorId: string | null;
  action: string;
  subjectType: string | null;
  subjectId: string | null;
  outcome: string;
  ipAddress: string | null;
  userAgent: string | null;
  requestId: string | null;
  metadata: unknown;
}

/** JSON with object keys sorted at every depth: one byte string per value. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value && typeof value === "object") {
    return `{${Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`)
      .join(",")}}`;
  }
  return JSON.stringify(value ?? null);
}

/** SHA-256 of the predecessor's hash and the record's canonical encoding. */
export function linkHash(prevHash: string, r: AuditRecord): string {
  const body = canonicalJson({
    id: r.id.toString(),
    occurredAt: r.occurredAt.toISOString(),
    actorType: r.actorType,
    actorId: r.actorId,
    action: r.action,
    subjectType: r.subjectType,
    subjectId: r.subjectId,
    outcome: r.outcome,
    ipAddress: r.ipAddress,
    userAgent: r.userAgent,
    requestId: r.requestId,
    metadata: r.metadata,
  });
  return createHash("sha256").update(prevHash).update("\n").update(body).digest("hex");
}

/** Signs chain checkpoints with HMAC-SHA256 under a key from configuration. */
export class CheckpointSigner {
  readonly keyId: string;

  constructor(private readonly key: Buffer) {
    this.keyId = createHash("sha256").update(key).digest("hex").slice(0, 16);
  }

  sign(seq: bigint, hash: string): string {
    return createHmac("sha256", this.key).update(`${seq}:${hash}`).digest("hex");
  }

  verify(seq: bigint, hash: string, signature: string): boolean {
    const expected = Buffer.from(this.sign(seq, hash), "hex");
    const given = Buffer.from(signature, "hex");
    return given.length === expected.length && timingSafeEqual(given, expected);
  }
}

/**
 * Appends committed audit records to the hash chain, in batches, after their transactions commit.
 * User transactions only INSERT their audit rows; they never wait on the chain. One chainer at a
 * time extends the chain (advisory lock); every `checkpointEvery` links the head is signed, and
 * each checkpoint is published outside the database: an `audit.checkpoint` event on `user-events`
 * (committed with it) and, after commit, the latest of the batch in the log.
 */
export class AuditChainer extends BackgroundLoop {
  constructor(
    private readonly unitOfWork: UnitOfWork,
    private readonly signer: CheckpointSigner,
    private readonly options: { batchSize: number; checkpointEvery: number; intervalMs: number },
    private readonly logger: Logger,
  ) {
    super(options.intervalMs, options.batchSize);
  }

  protected step(): Promise<number> {
    return this.chainOnce();
  }

  protected onError(error: unknown, failures: number): void {
    if (failures === 1 || failures % 50 === 0) this.logger.error({ err: { message: (error as Error).message } }, "audit chainer failed; retrying");
  }

  /**
   * Chains one batch of unchained records; returns how many it chained. On a pooled pg transaction
   * (`runSql`): a batch is five statements, and a busy service chains one every poll.
   */
  async chainOnce(): Promise<number> {
    const { chained, latest } = await this.unitOfWork.runSql(CHAINER, async ({ query, publish }) => {
      // The lock first, in a statement of its own: the head is read in a snapshot taken after it.
      await query(sql`SELECT pg_advisory_xact_lock(${CHAIN_LOCK_KEY})`);
      const [head] = await query<{ seq: string; hash: string }>(sql`SELECT c.seq::text AS seq, c.hash FROM audit_chain c ORDER BY c.seq DESC LIMIT 1`);
      // Records at or below audit_chain_floor() are out of reach (the database refuses new ones).
      const rows = await query<Omit<AuditRecord, "id"> & { id: string }>(sql`
        WITH floor AS (SELECT audit_chain_floor() AS id)
        SELECT e.id::text AS id, e.occurred_at AS "occurredAt", e.actor_type AS "actorType", e.actor_id AS "actorId", e.action,
               e.subject_type AS "subjectType", e.subject_id AS "subjectId", e.outcome, e.ip_address AS "ipAddress",
               e.user_agent AS "userAgent", e.request_id AS "requestId", e.metadata
        FROM audit_events e, floor
        WHERE e.id > floor.id AND NOT EXISTS (SELECT 1 FROM audit_chain c WHERE c.audit_id = e.id AND c.audit_id > floor.id)
        ORDER BY e.id LIMIT ${this.options.batchSize}`);
      if (rows.length === 0) return { chained: 0 };
      let seq = BigInt(head?.seq ?? 0);
      let prevHash = head?.hash ?? GENESIS_HASH;
      const links = rows.map((row) => {
        seq += 1n;
        const hash = linkHash(prevHash, { ...row, id: BigInt(row.id) });
        const link = { seq, auditId: row.id, prevHash, hash };
        prevHash = hash;
        return link;
      });
      await query(sql`
        INSERT INTO audit_chain (seq, audit_id, prev_hash, hash)
        SELECT seq, audit_id, prev_hash, hash FROM jsonb_to_recordset(${JSON.stringify(links.map((l) => ({ seq: l.seq.toString(), audit_id: l.auditId, prev_hash: l.prevHash, hash: l.hash })))}::jsonb)
          AS l(seq bigint, audit_id bigint, prev_hash text, hash text)`);
      const every = BigInt(this.options.checkpointEvery);
      const checkpoints = links.filter((link) => link.seq % every === 0n).map(({ seq, hash }) => ({ seq, hash, keyId: this.signer.keyId, signature: this.signer.sign(seq, hash) }));
      if (checkpoints.length > 0) {
        await query(sql`
          INSERT INTO audit_checkpoints (seq, hash, key_id, signature)
          SELECT seq, hash, key_id, signature FROM jsonb_to_recordset(${JSON.stringify(checkpoints.map((c) => ({ seq: c.seq.toString(), hash: c.hash, key_id: c.keyId, signature: c.signature })))}::jsonb)
            AS c(seq bigint, hash text, key_id text, signature text)`);
      }
      for (const c of checkpoints) publish("audit.checkpoint", CHAIN_AGGREGATE, { seq: Number(c.seq), hash: c.hash, keyId: c.keyId, signature: c.signature });
      return { chained: rows.length, latest: checkpoints.at(-1) };
    });
    if (latest) this.logger.info({ checkpoint: { seq: latest.seq.toString(), hash: latest.hash, keyId: latest.keyId }, published: `${latest.seq}:${latest.hash}` }, "audit checkpoint signed");
    return chained;
  }
}

export type VerifyResult =
  | { ok: true; links: number; checkpoints: number; unchained: number }
  /** `firstBadSeq` is absent when the fault lies outside the chain (a record it can never include). */
  | { ok: false; firstBadSeq?: string; reason: string; links: number };

/** A checkpoint as published outside the database (`audit.checkpoint` event, the chainer's log). */
export interface PublishedCheckpoint {
  seq: bigint;
  hash: string;
}

export interface VerifyOptions {
  /** AUDIT_CHECKPOINT_EVERY: a signed checkpoint must exist at every multiple of it. */
  checkpointEvery: number;
  /** The latest checkpoint published outside the database: the chain must reach it, unchanged. */
  published?: PublishedCheckpoint;
  pageSize?: number;
}

/**
 * Walks the chain from the start up to the head as it was when the walk began: sequence without
 * gaps, each link's predecessor hash, each record's hash recomputed from the audit row, a valid
 * signed checkpoint at every multiple of `checkpointEvery`, and the published checkpoint's hash.
 * Names the first bad sequence number: an edited, deleted, inserted or reordered record breaks the
 * chain there, and a rewrite of every later link breaks it at the next checkpoint. A tail cut
 * shows against the published checkpoint; a record below the chainer's reach fails it too.
 */
export async function verifyAuditChain(prisma: Prisma, signer: CheckpointSigner, options: VerifyOptions): Promise<VerifyResult> {
  const { published, pageSize = 1000 } = options;
  const every = BigInt(options.checkpointEvery);
  // The head first: links and checkpoints a chainer commits meanwhile lie beyond it.
  const head = (await prisma.auditChainLink.aggregate({ _max: { seq: true } }))._max.seq ?? 0n;
  const checkpoints = new Map((await prisma.auditCheckpoint.findMany()).map((c) => [c.seq, c]));
  let expectedSeq = 1n;
  let prevHash = GENESIS_HASH;
  let links = 0;
  const fail = (seq: bigint | null, reason: string): VerifyResult => ({ ok: false, ...(seq === null ? {} : { firstBadSeq: seq.toString() }), reason, links });
  while (expectedSeq <= head) {
    const page = await prisma.auditChainLink.findMany({ where: { seq: { gte: expectedSeq, lte: head } }, orderBy: { seq: "asc" }, take: pageSize });
    if (page.length === 0) break;
    const records = await prisma.auditEvent.findMany({ where: { id: { in: page.map((l) => l.auditId) } } });
    const byId = new Map(records.map((r) => [r.id, r]));
    for (const link of page) {
      if (link.seq !== expectedSeq) return fail(expectedSeq, `link ${expectedSeq} is missing`);
      if (link.prevHash !== prevHash) return fail(link.seq, "predecessor hash does not match (records removed, inserted or reordered)");
      const record = byId.get(link.auditId);
      if (!record) return fail(link.seq, `audit record ${link.auditId} is missing`);
      if (linkHash(prevHash, record) !== link.hash) return fail(link.seq, `audit record ${link.auditId} does not match its hash (edited)`);
      const checkpoint = checkpoints.get(link.seq);
      if (!checkpoint && link.seq % every === 0n) return fail(link.seq, `checkpoint ${link.seq} is missing (one is signed every ${every} links)`);
      if (checkpoint && (checkpoint.hash !== link.hash || !signer.verify(link.seq, checkpoint.hash, checkpoint.signature))) {
        return fail(link.seq, "checkpoint signature or hash does not match");
      }
      if (link.seq === published?.seq && link.hash !== published.hash) return fail(link.seq, `link ${link.seq} does not match the published checkpoint (chain rewritten)`);
      prevHash = link.hash;
      expectedSeq += 1n;
      links += 1;
    }
  }
  if (expectedSeq <= head) return fail(expectedSeq, `link ${expectedSeq} is missing`);
  if (published && published.seq > head) return fail(head + 1n, `the chain ends at ${head}, before the published checkpoint ${published.seq} (records removed)`);
  const beyond = [...checkpoints.keys()].filter((seq) => seq > head);
  const linked = new Set((await prisma.auditChainLink.findMany({ where: { seq: { in: beyond } }, select: { seq: true } })).map((l) => l.seq));
  const orphan = beyond.filter((seq) => !linked.has(seq)).sort((a, b) => (a < b ? -1 : 1))[0];
  if (orphan !== undefined) return fail(orphan, `checkpoint ${orphan} is past the end of the chain (links removed)`);
  const [unchained] = await prisma.$queryRaw<{ pending: number; unreachable: bigint | null }[]>`
    SELECT count(*) FILTER (WHERE e.id > floor.id)::int AS pending, min(e.id) FILTER (WHERE e.id <= floor.id) AS unreachable
    FROM audit_events e, (SELECT audit_chain_floor() AS id) floor
    WHERE NOT EXISTS (SELECT 1 FROM audit_chain c WHERE c.audit_id = e.id)`;
  const unreachable = unchained?.unreachable ?? null;
  if (unreachable !== null) {
    return fail(null, `audit record ${unreachable} is not chained and is older than the chainer's window: the chain can never include it (inserted after the fact)`);
  }
  return { ok: true, links, checkpoints: checkpoints.size - beyond.length, unchained: unchained?.pending ?? 0 };
}
