// npm run keys:rotate — makes a new JWT signing key current. The previous key stops signing but
// stays published in the JWKS (and keeps verifying) until the access tokens it signed have expired.
// Running instances pick the new key up on restart.
import { systemClock } from "../platform/clock";
import { KeyStore } from "../platform/jwt/keys";
import { runCli } from "./context";

runCli("keys:rotate", async ({ config, database }) => {
  const keys = new KeyStore(database.prisma, config.KEY_ENCRYPTION_KEY, config.JWT_ALGORITHM, config.ACCESS_TOKEN_TTL_S * 1000, systemClock);
  await keys.init();
  const kid = await keys.rotate();
  process.stdout.write(`new current signing key ${kid} (${config.JWT_ALGORITHM}); published keys: ${keys.jwks().keys.map((k) => k.kid).join(", ")}\n`);
  return 0;
});
