import { readFileSync } from "node:fs";
import { isIP } from "node:net";
import { availableParallelism } from "node:os";
import path from "node:path";
import { normalizeIp } from "../http/client-ip";
import { Invalid, bool, int, isProduction, oneOf, spec, type ConfigPart, type Env, type VarSpec } from "../shared/config-spec";
import type { LocalKey } from "./crypto/kek-local";
import { DEFAULT_MIGRATION_LOCK_TIMEOUT_MS } from "./db/migrator";

function optionalUrl(description: string, protocols: readonly string[]): VarSpec<string | undefined> {
  return spec(description, "", (raw) => {
    if (raw === undefined || raw === "") return undefined;
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      throw new Invalid(`expected a URL such as ${protocols[0]}//host:port/...`);
    }
    if (!protocols.includes(url.protocol)) throw new Invalid(`expected a URL starting with ${protocols.join(" or ")}//`);
    return raw;
  });
}

function originList(description: string, example: string, def: (env: Env) => string[]): VarSpec<string[]> {
  return spec(description, example, (raw, env) => {
    if (raw === undefined || raw === "") return def(env);
    const origins = raw.split(",").map((s) => s.trim()).filter(Boolean);
    for (const origin of origins) {
      if (origin === "*") {
        if (isProduction(env)) throw new Invalid('"*" is refused in production; list the allowed origins');
        continue;
      }
      let parsed: URL | undefined;
      try {
        parsed = new URL(origin);
      } catch {
        parsed = undefined;
      }
      if (!parsed || parsed.origin !== origin) throw new Invalid("expected comma-separated origins such as https://app.example.com");
    }
    return origins;
  });
}

const notInProduction = (env: Env) => !isProduction(env);

/** A secret key: 32 or more bytes, base64. Required in production; a fixed, public development key otherwise. */
function secretKey(description: string, purpose: string): VarSpec<Buffer> {
  return spec(description, "", (raw, env) => {
    if (raw === undefined || raw === "") {
      if (isProduction(env)) throw new Invalid("required in production: 32 or more random bytes, base64 (openssl rand -base64 32)");
      return developmentKey(purpose);
    }
    const key = Buffer.from(raw, "base64");
    if (key.length < 32) throw new Invalid("expected 32 or more bytes, base64-encoded");
    if (isProduction(env) && key.equals(developmentKey(purpose))) throw new Invalid("the development key is refused in production");
    return key;
  });
}

/** The fixed, public key used outside production when a secret key is not set. */
export function developmentKey(purpose: string): Buffer {
  return Buffer.from(`identity-subgraph development ${purpose} key, not secret`.padEnd(32, "."));
}

const usesKms = (env: Env, ...providers: string[]) => providers.includes(env.KMS_PROVIDER ?? "");

/** Local KEKs: `[name:]base64` entries (32 bytes each; a bare key is named "1"), the first current. */
function localKeys(entries: string[]): LocalKey[] {
  const keys = entries.map((entry) => {
    const [name, base64] = entry.includes(":") ? (entry.split(":", 2) as [string, string]) : ["1", entry];
    const key = Buffer.from(base64, "base64");
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(name) || key.length !== 32) throw new Invalid("expected [name:]key entries, each key exactly 32 bytes, base64 (openssl rand -base64 32)");
    return { name, key };
  });
  if (new Set(keys.map((k) => k.name)).size !== keys.length) throw new Invalid("expected each key name once");
  return keys;
}

/** A variable required when KMS_PROVIDER is one of `providers`. */
function kmsSetting(description: string, providers: string[], check: (raw: string) => void = () => undefined): VarSpec<string | null> {
  return spec(description, "", (raw, env) => {
    if (raw === undefined || raw === "") {
      if (usesKms(env, ...providers)) throw new Invalid(`required when KMS_PROVIDER=${providers.join(" or ")}`);
      return null;
    }
    check(raw);
    return raw;
  });
}

function httpUrl(raw: string): void {
  if (!/^https?:\/\/[^/\s]+/.test(raw)) throw new Invalid("expected an http(s):// URL");
}
const SANDBOX_ORIGINS = ["https://sandbox.embed.apollographql.com", "https://studio.apollographql.com"];

/** The platform's own variables (database, Redis, HTTP, GraphQL limits, outbox, audit, keys, tokens, hashing). */
export const platformConfig = {
  NODE_ENV: oneOf("Runtime environment; production refuses unsafe defaults", ["development", "test", "production"] as const, "development"),
  PORT: int("HTTP and WebSocket port", 4001, 1, 65535),
  HOST: spec("Interface to listen on", "0.0.0.0", (raw) => raw || "0.0.0.0"),
  DATABASE_URL: optionalUrl("PostgreSQL URL; with REDIS_URL selects service mode (the database is created if missing)", ["postgres:", "postgresql:"]),
  DATABASE_POOL_SIZE: int("PostgreSQL connections per instance", 10, 1, 200),
  REDIS_URL: optionalUrl("Redis URL; with DATABASE_URL selects service mode", ["redis:", "rediss:"]),
  REDIS_COMMAND_TIMEOUT_MS: int("A Redis command unanswered this long fails, and Redis counts as down until it answers again (rate limits per instance, revocations from PostgreSQL)", 500, 50, 60_000),
  EMBEDDED_DATA_DIR: spec("Embedded mode: PGlite data directory", ".data", (raw) => path.resolve(raw || ".data")),
  MIGRATE_ON_START: bool("Apply pending migrations before serving", "true", () => true),
  MIGRATION_LOCK_TIMEOUT_MS: int("Longest a migration waits for a lock (lock_timeout) before it fails, rolled back, rather than stall the tables it alters", DEFAULT_MIGRATION_LOCK_TIMEOUT_MS, 100, 600_000),
  LOG_LEVEL: oneOf("pino log level", ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const, "info"),
  GRAPHQL_INTROSPECTION: bool("Allow schema introspection (default: off in production)", "", notInProduction),
  GRAPHQL_LANDING_PAGE: bool("Serve Apollo Sandbox on GET /graphql (default: off in production)", "", notInProduction),
  GRAPHQL_MAX_DEPTH: int("Maximum selection depth of an operation (introspection fields excluded)", 12, 1, 100),
  GRAPHQL_MAX_COST: int("Maximum estimated cost of an operation (fields x list sizes)", 5000, 10, 1_000_000),
  GRAPHQL_MAX_ALIASES: int("Maximum aliases in an operation", 30, 0, 1000),
  GRAPHQL_MAX_RECURSIVE_SELECTIONS: int("Maximum field selections of an operation once fragments are expanded", 5000, 100, 10_000_000),
  GRAPHQL_MAX_REPEATS: int("Times one field (response name) or fragment may be selected in one selection set", 3, 1, 100),
  GRAPHQL_MAX_TOKENS: int("Largest document in tokens; parsing stops past it", 10_000, 100, 1_000_000),
  HTTP_BODY_LIMIT_BYTES: int("Largest accepted request body (and WebSocket message) in bytes; an uploaded verification document is counted apart (MAX_DOCUMENT_SIZE_MB)", 1_048_576, 1024, 64 * 1_048_576),
  MAX_DOCUMENT_SIZE_MB: int("Largest verification document in MiB: its base64 in uploadVerificationDocument's input.contentBase64 may take this much (x 4/3) beyond HTTP_BODY_LIMIT_BYTES; 413 while the body is read beyond it", 10, 1, 50),
  WS_MAX_SUBSCRIPTIONS_PER_SOCKET: int("Operations (subscriptions included) a WebSocket may have running at once; one more closes it (1008)", 10, 1, 1000),
  WS_MAX_SOCKETS_PER_USER: int("WebSockets one user may have open at once; one more is closed (1008) as it initialises", 10, 1, 1000),
  HTTP_REQUEST_TIMEOUT_MS: int("Time allowed to receive a whole request", 30_000, 1000, 600_000),
  ROUTER_SECRET: spec("Secret the router sends in ROUTER_SECRET_HEADER; /graphql (HTTP and WebSocket) refuses requests without it with 401 (required in production, 32+ characters)", "", (raw, env) => {
    if (raw === undefined || raw === "") {
      if (isProduction(env)) throw new Invalid("required in production: 32 or more random characters shared with the router (openssl rand -base64 32)");
      return null;
    }
    if (raw.length < 32) throw new Invalid("expected 32 or more characters");
    return raw;
  }),
  ROUTER_SECRET_HEADER: spec("Header carrying ROUTER_SECRET", "x-router-secret", (raw) => {
    if (raw === undefined || raw === "") return "x-router-secret";
    if (!/^[A-Za-z0-9-]{1,64}$/.test(raw)) throw new Invalid("expected an HTTP header name");
    return raw.toLowerCase();
  }),
  METRICS_PORT: spec("Port of a separate listener serving /metrics (default: the public port outside production; 9464 in production, where /metrics is never on the public port)", "", (raw, env) => {
    if (raw === undefined || raw === "") return isProduction(env) ? 9464 : null;
    if (!/^\d+$/.test(raw) || Number(raw) < 0 || Number(raw) > 65535) throw new Invalid("expected a port number between 0 and 65535");
    return Number(raw);
  }),
  CORS_ORIGINS: originList(
    "Comma-separated browser origins allowed over HTTP and WebSocket (default outside production: Apollo Sandbox; production: none)",
    "",
    (env) => (isProduction(env) ? [] : SANDBOX_ORIGINS),
  ),
  OUTBOX_BATCH_SIZE: int("Outbox messages the relay claims per round trip", 100, 1, 1000),
  OUTBOX_RELAY_CONCURRENCY: int("Batches the relay has in flight at once, each in its own transaction (one claims while another is in Redis)", 4, 1, 8),
  OUTBOX_POLL_INTERVAL_MS: int("Relay polling interval (it is also woken by NOTIFY after each commit)", 1000, 10, 60_000),
  OUTBOX_MAX_ATTEMPTS: int("Delivery attempts of a message before it is parked (dead letter)", 8, 1, 100),
  OUTBOX_BACKOFF_MS: int("First retry delay of a failed message; doubles per attempt, at most 5 minutes", 1000, 1, 300_000),
  OUTBOX_RETENTION_S: int("How long delivered outbox messages are kept before the relay deletes them", 604_800, 3600, 31_536_000),
  OUTBOX_RELAY: bool("Run the outbox relay and audit chainer in this instance", "true", () => true),
  QUEUE_PREFIX: spec("BullMQ key prefix of the queues", "bull", (raw) => raw || "bull"),
  JOBS_WORKER: bool("Run background jobs (provider calls, webhooks, polling) in this instance; service mode shares them through the identity-jobs queue", "true", () => true),
  JOBS_CONCURRENCY: int("Background jobs run at once per instance", 8, 1, 256),
  JOBS_ATTEMPTS: int("Attempts of a failing background job before it is given up (logged)", 8, 1, 100),
  JOBS_BACKOFF_MS: int("First retry delay of a failed background job; doubles per attempt", 1000, 1, 300_000),
  REDIS_PREFIX: spec("Prefix of this deployment's other Redis keys and pub/sub channels (rate limits, revocations, cache invalidation), so deployments can share a Redis", "identity:", (raw) => {
    const prefix = raw || "identity:";
    if (!/^[A-Za-z0-9_.:-]{1,64}$/.test(prefix)) throw new Invalid("expected 1 to 64 letters, digits, _ . : or -");
    return prefix;
  }),
  QUEUE_RETENTION_S: int("How long delivered jobs of user-events stay in Redis (a re-published job id is recognised within it)", 604_800, 60, 31_536_000),
  NOTIFICATION_RETENTION_S: int("How long a notification job, tokens and all, stays in Redis once the notification service has finished it (0: removed at once)", 0, 0, 604_800),
  REDIS_REQUIRE_DURABILITY: bool("Refuse to start unless Redis has AOF on and maxmemory-policy noeviction (default: on in production)", "", (env) => isProduction(env)),
  AUDIT_SIGNING_KEY: secretKey("Key signing audit chain checkpoints: 32+ bytes, base64 (required in production; a fixed development key otherwise)", "audit"),
  KEY_ENCRYPTION_KEY: secretKey("Local key-encryption key of secrets at rest when KMS_MASTER_KEY and LOCAL_KMS_KEY_PATH are unset; always opens what it sealed: 32+ bytes, base64 (required in production; a fixed development key otherwise)", "keys"),
  KMS_PROVIDER: oneOf("Where the key-encryption keys of secrets at rest are held: local (KMS_MASTER_KEY, LOCAL_KMS_KEY_PATH or KEY_ENCRYPTION_KEY), aws (AWS KMS) or vault (HashiCorp Vault transit)", ["local", "aws", "vault"] as const, "local"),
  KMS_MASTER_KEY: spec("Local KEKs: comma-separated [name:]key entries, each 32 bytes, base64; the first wraps new data keys, the others (and KEY_ENCRYPTION_KEY) still open old records (default: KEY_ENCRYPTION_KEY)", "", (raw) =>
    raw === undefined || raw === "" ? [] : localKeys(raw.split(",").map((s) => s.trim())),
  ),
  LOCAL_KMS_KEY_PATH: spec("File of local KEKs instead of KMS_MASTER_KEY: 32 raw bytes, or one [name:]base64 entry per line, the first current", "", (raw, env) => {
    if (raw === undefined || raw === "") return [];
    if (env.KMS_MASTER_KEY) throw new Invalid("set KMS_MASTER_KEY or LOCAL_KMS_KEY_PATH, not both");
    let file: Buffer;
    try {
      file = readFileSync(raw);
    } catch {
      throw new Invalid("cannot read the file");
    }
    return file.length === 32 ? [{ name: "1", key: file }] : localKeys(file.toString("utf8").split("\n").map((s) => s.trim()).filter(Boolean));
  }),
  KMS_MASTER_KEY_ID: kmsSetting("KMS_PROVIDER=aws: the KMS key (id, ARN or alias) wrapping data keys; KMS_PROVIDER=vault: the transit key name (created with derived=true)", ["aws", "vault"]),
  KMS_ENDPOINT: kmsSetting("KMS_PROVIDER=aws: endpoint override (default: the region's; region and credentials come from the AWS SDK's usual chain)", [], httpUrl),
  VAULT_ADDR: kmsSetting("KMS_PROVIDER=vault: Vault address, e.g. https://vault.internal:8200", ["vault"], httpUrl),
  VAULT_TOKEN: kmsSetting("KMS_PROVIDER=vault: token allowed to use the transit key (datakey/plaintext and decrypt)", ["vault"]),
  AUDIT_CHECKPOINT_EVERY: int("Sign the audit chain head every N records", 100, 1, 1_000_000),
  PUBLIC_URL: spec("Public origin of the service's web pages; links in emails are built from it, never from Host (required in production)", "", (raw, env) => {
    if (raw === undefined || raw === "") {
      if (isProduction(env)) throw new Invalid("required in production: the https origin users open links on, e.g. https://id.example.com");
      return "http://localhost:4001";
    }
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      throw new Invalid("expected an origin such as https://id.example.com");
    }
    if (url.protocol !== "https:" && (isProduction(env) || url.protocol !== "http:")) throw new Invalid("expected an https:// origin");
    return url.origin;
  }),
  TRUSTED_PROXIES: spec("Comma-separated IP addresses of proxies (router, load balancer) whose X-Forwarded-For is believed", "", (raw) => {
    const ips = (raw ?? "").split(",").map((s) => s.trim()).filter(Boolean);
    if (ips.some((ip) => isIP(ip) === 0)) throw new Invalid("expected comma-separated IP addresses");
    return ips.map(normalizeIp);
  }),
  COUNTRY_HEADER: spec("Header in which a trusted proxy gives the client's ISO 3166 country (e.g. cf-ipcountry); read only from TRUSTED_PROXIES", "", (raw) => {
    if (raw === undefined || raw === "") return null;
    if (!/^[A-Za-z0-9-]{1,64}$/.test(raw)) throw new Invalid("expected an HTTP header name");
    return raw.toLowerCase();
  }),
  BCRYPT_COST: spec("bcrypt cost factor (10 or more in production)", "12", (raw, env) => {
    const cost = raw === undefined || raw === "" ? 12 : /^\d+$/.test(raw) ? Number(raw) : NaN;
    const min = isProduction(env) ? 10 : 4;
    if (!(cost >= min && cost <= 15)) throw new Invalid(`expected an integer between ${min} and 15`);
    return cost;
  }),
  BCRYPT_THREADS: spec("Threads hashing passwords at lowered priority (default: one per CPU)", "", (raw) => {
    if (raw === undefined || raw === "") return availableParallelism();
    if (!/^\d+$/.test(raw) || Number(raw) < 1 || Number(raw) > 64) throw new Invalid("expected an integer between 1 and 64");
    return Number(raw);
  }),
  BCRYPT_QUEUE_PER_THREAD: int("Password hashing operations that may wait per hashing thread; beyond them an operation that hashes (login, registration, password change or reset) answers RATE_LIMITED at once", 16, 1, 10_000),
  JWT_ALGORITHM: oneOf("Access token signature algorithm", ["ES256", "RS256", "EdDSA"] as const, "ES256"),
  JWT_AUDIENCE: spec("The aud claim of access tokens", "identity-platform", (raw) => raw || "identity-platform"),
  ACCESS_TOKEN_TTL_S: int("Access token lifetime", 900, 60, 3600),
  JWT_KEYS_RELOAD_S: int("How often each instance reloads the signing keys, a backstop to the NOTIFY of every rotation and withdrawal; a retired key stays published this much longer than ACCESS_TOKEN_TTL_S", 60, 1, 3600),
  SHUTDOWN_TIMEOUT_MS: int("Longest graceful shutdown before forcing exit", 10_000, 100, 600_000),
} satisfies ConfigPart;
