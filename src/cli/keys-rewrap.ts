// npm run keys:rewrap [-- --batch-size <n>]   re-seals every value sealed under an older key-encryption
//                                            key (or provider) under the current one, in batches, while
//                                            the service runs. Afterwards the old KEK can be removed.
import { createKeyVault } from "../platform/crypto/create-vault";
import { rewrapAll } from "../platform/crypto/rewrap";
import { sealedStores } from "../modules/declarations";
import { runCli } from "./context";

runCli("keys:rewrap", async ({ config, database, args }) => {
  const [option, size, ...rest] = args;
  const batchSize = option === undefined ? 100 : Number(size);
  if ((option !== undefined && option !== "--batch-size") || !Number.isInteger(batchSize) || batchSize < 1 || rest.length > 0) {
    process.stderr.write("usage: keys:rewrap [--batch-size <n>]\n");
    return 2;
  }
  const vault = createKeyVault(config);
  const current = await vault.currentKekId();
  const rewrapped = await rewrapAll(vault, Object.values(sealedStores).map((rows) => rows(database.prisma)), batchSize, (kekId) => kekId !== current);
  process.stdout.write(`re-wrapped ${rewrapped} sealed values under ${current}\n`);
  return 0;
});
