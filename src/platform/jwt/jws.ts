import { KeyObject, sign } from "node:crypto";
import type { CryptoKey } from "jose";
import type { JwtAlgorithm } from "./keys";

/**
 * node:crypto's arguments for each algorithm (RFC 7518 §3.3, §3.4; RFC 8037 §3.1): ES256 is
 * SHA-256 with the signature as r‖s (IEEE P1363), not DER; RS256 PKCS#1 v1.5 over SHA-256;
 * EdDSA (Ed25519) takes no digest.
 */
const ALGORITHMS: Record<JwtAlgorithm, { digest: string | null; dsaEncoding?: "ieee-p1363" }> = {
  ES256: { digest: "sha256", dsaEncoding: "ieee-p1363" },
  RS256: { digest: "sha256" },
  EdDSA: { digest: null },
};

const keyObjects = new WeakMap<CryptoKey, KeyObject>();

const base64url = (json: unknown) => Buffer.from(JSON.stringify(json)).toString("base64url");

/**
 * A JWS in compact serialization (RFC 7515 §7.1) signed on this thread with node:crypto. jose's
 * `SignJWT` signs through WebCrypto, whose every signature is a job handed to libuv's thread pool
 * and back: on two shared cores that hand-off cost a refresh more than the signature itself.
 * Verification stays jose's.
 */
export function signCompact(header: { alg: JwtAlgorithm } & Record<string, unknown>, payload: Record<string, unknown>, key: CryptoKey): string {
  let keyObject = keyObjects.get(key);
  if (!keyObject) {
    keyObject = KeyObject.from(key);
    keyObjects.set(key, keyObject);
  }
  const { digest, dsaEncoding } = ALGORITHMS[header.alg];
  const input = `${base64url(header)}.${base64url(payload)}`;
  return `${input}.${sign(digest, Buffer.from(input), dsaEncoding ? { key: keyObject, dsaEncoding } : keyObject).toString("base64url")}`;
}
