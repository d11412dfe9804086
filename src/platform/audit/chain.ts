import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import { BackgroundLoop } from "../background-loop";
import type { Prisma } from "../db/database";
import type { Logger } from "../logging/logger";

export const GENESIS_HASH = "0".repeat(64);
/** Serialises chainers across instances (transaction-scoped advisory lock). */
const CHAIN_LOCK_KEY = 72707370;
/** How far behind the newest chained record the chainer looks for late commits. */
const LATE_COMMIT_WINDOW = 10_000;

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
 * time extends the chain (advisory lock); every `checkpointEvery` links the head is signed.
 */
export class AuditChainer extends BackgroundLoop {
  constructor(
    private readonly prisma: Prisma,
    private readonly signer: CheckpointSigner,
    private readonly options: { batchSize: number; checkpointEvery: number; intervalMs: number },
    private readonly logger: Logger,
  ) {
    super(options.intervalMs);
  }

  protected step(): Promise<number> {
    return this.chainOnce();
  }

  /**
   * Again at once only after a full batch: a partial one means the chain has caught up, and
   * chaining what trickles in one round later costs a fraction of chaining it a few rows at a time
   * (a round's transaction and statements cost more than its hashing).
   */
  protected override moreWaiting(found: number): boolean {
    return found >= this.options.batchSize;
  }

  protected onError(error: unknown, failures: number): void {
    if (failures === 1 || failures % 50 === 0) this.logger.error({ err: { message: (error as Error).message } }, "audit chainer failed; retrying");
  }

  /** Chains one batch of unchained records; returns how many it chained. */
  async chainOnce(): Promise<number> {
    return this.prisma.$transaction(async (tx) => {
      await tx.$executeRaw`SELECT pg_advisory_xact_lock(${CHAIN_LOCK_KEY})`;
      const head = await tx.auditChainLink.findFirst({ orderBy: { seq: "desc" } });
      const from = head ? head.auditId - BigInt(LATE_COMMIT_WINDOW) : 0n;
      const records = await tx.$queryRaw<AuditRecord[]>`
        SELECT e.id, e.occurred_at AS "occurredAt", e.actor_type AS "actorType", e.actor_id AS "actorId", e.action,
               e.subject_type AS "subjectType", e.subject_id AS "subjectId", e.outcome, e.ip_address AS "ipAddress",
               e.user_agent AS "userAgent", e.request_id AS "requestId", e.metadata
        FROM audit_events e
        WHERE e.id > ${from} AND NOT EXISTS (SELECT 1 FROM audit_chain c WHERE c.audit_id = e.id AND c.audit_id > ${from})
        ORDER BY e.id LIMIT ${this.options.batchSize}`;
      if (records.length === 0) return 0;
      let seq = head?.seq ?? 0n;
      let prevHash = head?.hash ?? GENESIS_HASH;
      const links = records.map((record) => {
        seq += 1n;
        const hash = linkHash(prevHash, record);
        const link = { seq, auditId: record.id, prevHash, hash };
        prevHash = hash;
        return link;
      });
      await tx.auditChainLink.createMany({ data: links });
      const every = BigInt(this.options.checkpointEvery);
      const checkpoints = links.filter((link) => link.seq % every === 0n);
      if (checkpoints.length > 0) {
        await tx.auditCheckpoint.createMany({ data: checkpoints.map(({ seq, hash }) => ({ seq, hash, keyId: this.signer.keyId, signature: this.signer.sign(seq, hash) })) });
      }
      return records.length;
    });
  }
}

export type VerifyResult =
  | { ok: true; links: number; checkpoints: number; unchained: number }
  | { ok: false; firstBadSeq: string; reason: string; links: number };

/**
 * Walks the chain from the start: sequence without gaps, each link's predecessor hash, each
 * record's hash recomputed from the audit row, each checkpoint's signature and hash. Names the
 * first bad sequence number: an edited, deleted, inserted or reordered record breaks the chain
 * there.
 */
export async function verifyAuditChain(prisma: Prisma, signer: CheckpointSigner, pageSize = 1000): Promise<VerifyResult> {
  const checkpoints = new Map((await prisma.auditCheckpoint.findMany()).map((c) => [c.seq, c]));
  let expectedSeq = 1n;
  let prevHash = GENESIS_HASH;
  let links = 0;
  const fail = (seq: bigint, reason: string): VerifyResult => ({ ok: false, firstBadSeq: seq.toString(), reason, links });
  for (;;) {
    const page = await prisma.auditChainLink.findMany({ where: { seq: { gte: expectedSeq } }, orderBy: { seq: "asc" }, take: pageSize });
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
      if (checkpoint && (checkpoint.hash !== link.hash || !signer.verify(link.seq, checkpoint.hash, checkpoint.signature))) {
        return fail(link.seq, "checkpoint signature or hash does not match");
      }
      prevHash = link.hash;
      expectedSeq += 1n;
      links += 1;
    }
  }
  for (const seq of checkpoints.keys()) if (seq >= expectedSeq) return fail(seq, `checkpoint ${seq} is past the end of the chain (links removed)`);
  const unchained = await prisma.$queryRaw<{ n: number }[]>`SELECT count(*)::int AS n FROM audit_events e WHERE NOT EXISTS (SELECT 1 FROM audit_chain c WHERE c.audit_id = e.id)`;
  return { ok: true, links, checkpoints: checkpoints.size, unchained: unchained[0]?.n ?? 0 };
}
