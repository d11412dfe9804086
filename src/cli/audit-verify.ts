// npm run audit:verify — walks the audit hash chain of the configured database and checks every
// record, link and signed checkpoint. Exit 0 when intact; 1 naming the first bad sequence number.
import { CheckpointSigner, verifyAuditChain } from "../platform/audit/chain";
import { runCli } from "./context";

runCli("audit:verify", async ({ config, database }) => {
  const result = await verifyAuditChain(database.prisma, new CheckpointSigner(config.AUDIT_SIGNING_KEY));
  if (result.ok) {
    process.stdout.write(`audit chain intact: ${result.links} records, ${result.checkpoints} signed checkpoints, ${result.unchained} not yet chained\n`);
    return 0;
  }
  process.stdout.write(`audit chain BROKEN at sequence number ${result.firstBadSeq}: ${result.reason} (${result.links} records verified before it)\n`);
  return 1;
});
