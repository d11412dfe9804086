// npm run audit:verify [-- --published <seq>:<hash>] — walks the audit hash chain of the configured
// database and checks every record, link and signed checkpoint; with the latest checkpoint published
// outside the database (the chainer's log, `audit.checkpoint` on user-events), also that the chain
// still reaches it unchanged. Exit 0 when intact; 1 naming the first bad sequence number.
import type { Config } from "../config";
import { CheckpointSigner, verifyAuditChain, type PublishedCheckpoint } from "../platform/audit/chain";
import type { Database } from "../platform/db/database";
import { runCli } from "./context";

function parsePublished(args: string[]): PublishedCheckpoint | undefined {
  if (args.length === 0) return undefined;
  const match = args.length === 2 && args[0] === "--published" ? /^(\d+):([0-9a-f]{64})$/.exec(args[1] ?? "") : null;
  if (!match) throw new Error("usage: audit:verify [--published <seq>:<hash>] (the latest checkpoint the chainer published)");
  return { seq: BigInt(match[1] as string), hash: match[2] as string };
}

/** The command itself: verifies, writes its verdict with `write`, resolves with the exit code. */
export async function auditVerify({ config, database, args }: { config: Config; database: Database; args: string[] }, write: (text: string) => void): Promise<number> {
  const published = parsePublished(args);
  const result = await verifyAuditChain(database.prisma, new CheckpointSigner(config.AUDIT_SIGNING_KEY), { checkpointEvery: config.AUDIT_CHECKPOINT_EVERY, published });
  if (result.ok) {
    const tail = published ? `published checkpoint ${published.seq} matches` : "tail unchecked: give --published <seq>:<hash> of the latest published checkpoint";
    write(`audit chain intact: ${result.links} records, ${result.checkpoints} signed checkpoints, ${result.unchained} not yet chained; ${tail}\n`);
    return 0;
  }
  const [at, verified] = result.firstBadSeq === undefined ? ["", "chained records verified"] : [` at sequence number ${result.firstBadSeq}`, "records verified before it"];
  write(`audit chain BROKEN${at}: ${result.reason} (${result.links} ${verified})\n`);
  return 1;
}

if (require.main === module) runCli("audit:verify", (deps) => auditVerify(deps, (text) => process.stdout.write(text)));
