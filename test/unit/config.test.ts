import { readFileSync } from "node:fs";
import path from "node:path";
import { ConfigError, loadConfig } from "../../src/config";
import { configSpec } from "../../src/modules/declarations";
import { developmentKey } from "../../src/platform/platform.config";

const problemsOf = (env: Record<string, string>): string[] => {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
};

describe("loadConfig", () => {
  it("runs embedded with safe development defaults when nothing is set", () => {
    const config = loadConfig({});
    expect(config).toMatchObject({ mode: "embedded", PORT: 4001, GRAPHQL_INTROSPECTION: true, GRAPHQL_LANDING_PAGE: true, production: false });
    expect(config.EMBEDDED_DATA_DIR).toBe(path.resolve(".data"));
  });

  it("selects service mode when both URLs are set", () => {
    expect(loadConfig({ DATABASE_URL: "postgresql://h/db", REDIS_URL: "redis://h:6379" }).mode).toBe("service");
  });

  it("names every bad variable with the expected form", () => {
    expect(problemsOf({ PORT: "0", LOG_LEVEL: "loud", MIGRATE_ON_START: "yes", DATABASE_URL: "mysql://x/y", REDIS_URL: "redis://h" })).toEqual([
      'PORT: expected an integer between 1 and 65535 (got "0")',
      'DATABASE_URL: expected a URL starting with postgres: or postgresql:// (got "mysql://x/y")',
      'MIGRATE_ON_START: expected true or false (got "yes")',
      'LOG_LEVEL: expected one of fatal, error, warn, info, debug, trace, silent (got "loud")',
    ]);
  });

  it("refuses one URL without the other", () => {
    expect(problemsOf({ REDIS_URL: "redis://h" })).toEqual(["DATABASE_URL and REDIS_URL: set both (service mode) or neither (embedded mode)"]);
  });

  it("refuses unsafe production settings and turns introspection and the IDE off there by default", () => {
    expect(problemsOf({ NODE_ENV: "production" })).toEqual([
      "ROUTER_SECRET: required in production: 32 or more random characters shared with the router (openssl rand -base64 32)",
      "AUDIT_SIGNING_KEY: required in production: 32 or more random bytes, base64 (openssl rand -base64 32)",
      "KEY_ENCRYPTION_KEY: required in production: 32 or more random bytes, base64 (openssl rand -base64 32)",
      "PUBLIC_URL: required in production: the https origin users open links on, e.g. https://id.example.com",
      "DATABASE_URL and REDIS_URL: required when NODE_ENV=production (embedded mode is for development only)",
    ]);
    const service = { NODE_ENV: "production", DATABASE_URL: "postgresql://h/d", REDIS_URL: "redis://h", AUDIT_SIGNING_KEY: Buffer.alloc(32, 7).toString("base64"), KEY_ENCRYPTION_KEY: Buffer.alloc(32, 9).toString("base64"), PUBLIC_URL: "https://id.example.com", ROUTER_SECRET: "r".repeat(32) };
    expect(problemsOf({ ...service, PUBLIC_URL: "http://id.example.com" })).toEqual(['PUBLIC_URL: expected an https:// origin (got "http://id.example.com")']);
    expect(problemsOf({ ...service, BCRYPT_COST: "8" })).toEqual(['BCRYPT_COST: expected an integer between 10 and 15 (got "8")']);
    expect(problemsOf({ ...service, CORS_ORIGINS: "*" })[0]).toMatch(/^CORS_ORIGINS: "\*" is refused in production/);
    expect(loadConfig(service)).toMatchObject({ GRAPHQL_INTROSPECTION: false, GRAPHQL_LANDING_PAGE: false, CORS_ORIGINS: [], REDIS_REQUIRE_DURABILITY: true, METRICS_PORT: 9464 });
  });

  it("issue 11 item 5: production refuses the development key, and the KMS providers name what they need", () => {
    const service = { NODE_ENV: "production", DATABASE_URL: "postgresql://h/d", REDIS_URL: "redis://h", AUDIT_SIGNING_KEY: Buffer.alloc(32, 7).toString("base64"), KEY_ENCRYPTION_KEY: Buffer.alloc(32, 9).toString("base64"), PUBLIC_URL: "https://id.example.com", ROUTER_SECRET: "r".repeat(32) };
    expect(problemsOf({ ...service, KEY_ENCRYPTION_KEY: developmentKey("keys").toString("base64") })).toEqual(["KEY_ENCRYPTION_KEY: the development key is refused in production"]);
    expect(loadConfig({ KEY_ENCRYPTION_KEY: developmentKey("keys").toString("base64") }).KEY_ENCRYPTION_KEY).toEqual(developmentKey("keys"));
    expect(problemsOf({ ...service, KMS_PROVIDER: "aws" })).toEqual(["KMS_MASTER_KEY_ID: required when KMS_PROVIDER=aws or vault"]);
    expect(problemsOf({ ...service, KMS_PROVIDER: "vault", KMS_MASTER_KEY_ID: "identity" })).toEqual(["VAULT_ADDR: required when KMS_PROVIDER=vault", "VAULT_TOKEN: required when KMS_PROVIDER=vault"]);
    const key = Buffer.alloc(32, 5).toString("base64");
    expect(loadConfig({ KMS_MASTER_KEY: `new:${key}, old:${Buffer.alloc(32, 6).toString("base64")}` }).KMS_MASTER_KEY.map((k) => k.name)).toEqual(["new", "old"]);
    expect(problemsOf({ KMS_MASTER_KEY: `a:${key},a:${key}` })).toEqual(["KMS_MASTER_KEY: expected each key name once"]);
    expect(problemsOf({ KMS_MASTER_KEY: Buffer.alloc(31).toString("base64") })).toEqual(["KMS_MASTER_KEY: expected [name:]key entries, each key exactly 32 bytes, base64 (openssl rand -base64 32)"]);
  });

  it("accepts only exact origins", () => {
    expect(problemsOf({ CORS_ORIGINS: "https://app.example.com/path" })[0]).toMatch(/^CORS_ORIGINS: expected comma-separated origins/);
    expect(loadConfig({ CORS_ORIGINS: "https://a.example.com, https://b.example.com" }).CORS_ORIGINS).toEqual(["https://a.example.com", "https://b.example.com"]);
  });

  it("never echoes a key or a secret", () => {
    expect(problemsOf({ AUDIT_SIGNING_KEY: "c2hvcnQta2V5" })).toEqual(["AUDIT_SIGNING_KEY: expected 32 or more bytes, base64-encoded"]);
    expect(problemsOf({ ROUTER_SECRET: "short-router-secret" })).toEqual(["ROUTER_SECRET: expected 32 or more characters"]);
  });

  it("issue 10 item 13: a refused configuration never echoes a credential: URL userinfo and password parameters are hidden", () => {
    const refused = {
      DATABASE_URL: "mysql://admin:hunter2@db.internal:3306/identity",
      REDIS_URL: "http://:r3d1s-pw@redis.internal:6379",
      CORS_ORIGINS: "https://app.example.com,https://ops:c0rs-pw@console.example.com",
      PUBLIC_URL: "ftp://deploy:publ1c-pw@id.example.com",
      TRUSTED_PROXIES: "10.0.0.1,proxy:pr0xy-pw@10.0.0.2",
    };
    const problems = problemsOf(refused).join("\n");
    for (const secret of ["admin", "hunter2", "r3d1s-pw", "ops", "c0rs-pw", "deploy", "publ1c-pw", "pr0xy-pw"]) expect(problems).not.toContain(secret);
    expect(problems).toContain('DATABASE_URL: expected a URL starting with postgres: or postgresql:// (got "mysql://***@db.internal:3306/identity")');
    // Not even a URL the parser accepts: a password with a slash, a space or a comma, or given as a parameter.
    for (const url of ["postgres://admin:hun/ter2@db", "postgres://admin:hun ter2@db:x", "mysql://admin:hun,ter2@db", "mysql://db/identity?user=admin&password=hunter2"]) {
      const [problem] = problemsOf({ DATABASE_URL: url, REDIS_URL: "redis://h" });
      expect(problem).toMatch(/^DATABASE_URL: /);
      expect(problem).not.toMatch(/hun|ter2/);
    }
  });

  it("cuts long bad values in messages", () => {
    expect(problemsOf({ HOST: "h", PORT: "9".repeat(200) })[0]).toContain("…");
  });
});

describe("documentation of the configuration", () => {
  const names = Object.keys(configSpec).sort();

  it(".env.example lists every variable with its default, and nothing else", () => {
    const text = readFileSync(path.resolve(__dirname, "../../.env.example"), "utf8");
    const entries = [...text.matchAll(/^([A-Z0-9_]+)=(.*)$/gm)].map((m) => [m[1], m[2]]);
    expect(entries.map(([n]) => n).sort()).toEqual(names);
    for (const [name, value] of entries) expect(value).toBe(configSpec[name as keyof typeof configSpec].example);
  });

  it("the README's configuration table lists every variable", () => {
    const readme = readFileSync(path.resolve(__dirname, "../../README.md"), "utf8");
    const listed = [...readme.matchAll(/^\| `([A-Z0-9_]+)` \|/gm)].map((m) => m[1]).sort();
    expect(listed).toEqual(names);
  });
});
