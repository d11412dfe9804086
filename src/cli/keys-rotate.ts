// npm run keys:rotate                      makes a new JWT signing key current. The previous key stops
//                                          signing but stays published in the JWKS (and keeps verifying)
//                                          until the access tokens it signed (users' and service clients') have expired.
// npm run keys:rotate -- --withdraw <kid>  withdraws a key in an emergency (its private half leaked):
//                                          its tokens stop verifying and it leaves the JWKS; withdrawing
//                                          the current key makes a new one current.
// Every running instance applies either at once (NOTIFY), or within JWT_KEYS_RELOAD_S if it missed it.
import { systemClock } from "../platform/clock";
import { createKeyVault } from "../platform/crypto/create-vault";
import { KeyStore, longestTokenTtlMs } from "../platform/jwt/keys";
import { runCli } from "./context";

runCli("keys:rotate", async ({ config, database, args }) => {
  const keys = new KeyStore(database.prisma, createKeyVault(config), config.JWT_ALGORITHM, longestTokenTtlMs(config), systemClock, config.JWT_KEYS_RELOAD_S * 1000);
  await keys.init();
  const [option, kid, ...rest] = args;
  let done: string;
  if (option === undefined) {
    done = `new current signing key ${await keys.rotate()} (${config.JWT_ALGORITHM})`;
  } else if (option === "--withdraw" && kid && rest.length === 0) {
    const replacement = await keys.withdraw(kid);
    done = `withdrew signing key ${kid}${replacement ? `; new current signing key ${replacement} (${config.JWT_ALGORITHM})` : ""}`;
  } else {
    process.stderr.write("usage: keys:rotate | keys:rotate --withdraw <kid>\n");
    return 2;
  }
  process.stdout.write(`${done}; published keys: ${keys.jwks().keys.map((k) => k.kid).join(", ")}\n`);
  return 0;
});
