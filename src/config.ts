import { configSpec } from "./modules/declarations";
import { Invalid, type Env, type VarSpec } from "./shared/config-spec";

/** A configuration problem: the process reports it (no stack trace) and exits non-zero. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "ConfigError";
  }
}

/** Variables whose values are never shown, whatever they hold. */
const SECRET_NAME = /(KEY|SECRET|PASSWORD|PASSPHRASE|TOKEN|CREDENTIALS?)$/;

/**
 * `value` as a refusal may show it: anything before the last `@` (the userinfo of a URL, however
 * malformed, or of several in a list) and password-like query parameters become `***`.
 */
function redactCredentials(value: string): string {
  return value
    .replace(/^([a-z][a-z0-9+.-]*:\/\/)?[\s\S]*@/i, "$1***@")
    .replace(/([?&;](?:password|passwd|pass|pwd|secret|token|key|sslpassword)=)[^&;#]*/gi, "$1***");
}

type Spec = typeof configSpec;
type Parsed = { [K in keyof Spec]: Spec[K] extends VarSpec<infer T> ? T : never };

export type Mode = "embedded" | "service";

export type Config = Parsed & { readonly mode: Mode; readonly production: boolean };

/** Parses and validates the environment; throws ConfigError listing every bad variable. */
export function loadConfig(env: Env = process.env): Config {
  const problems: string[] = [];
  const values: Record<string, unknown> = {};
  for (const [name, variable] of Object.entries(configSpec) as [string, VarSpec<unknown>][]) {
    const raw = env[name];
    try {
      values[name] = variable.parse(raw, env);
    } catch (error) {
      if (!(error instanceof Invalid)) throw error;
      if (raw === undefined || SECRET_NAME.test(name)) {
        problems.push(`${name}: ${error.message}`);
        continue;
      }
      const shown = redactCredentials(raw);
      problems.push(`${name}: ${error.message} (got "${shown.length > 60 ? `${shown.slice(0, 60)}…` : shown}")`);
    }
  }
  const parsed = values as Parsed;
  const production = parsed.NODE_ENV === "production";
  const urlsValid = !problems.some((p) => p.startsWith("DATABASE_URL:") || p.startsWith("REDIS_URL:"));
  if (urlsValid && Boolean(parsed.DATABASE_URL) !== Boolean(parsed.REDIS_URL)) {
    problems.push("DATABASE_URL and REDIS_URL: set both (service mode) or neither (embedded mode)");
  }
  const mode: Mode = parsed.DATABASE_URL ? "service" : "embedded";
  if (production && mode === "embedded" && urlsValid) {
    problems.push("DATABASE_URL and REDIS_URL: required when NODE_ENV=production (embedded mode is for development only)");
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return Object.freeze({ ...parsed, mode, production });
}
