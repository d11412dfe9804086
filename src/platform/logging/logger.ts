import pino, { type Logger } from "pino";

export type { Logger };

/** Paths whose values never reach a log line (backs up the rule that secrets are never logged). */
export const REDACTED_PATHS = [
  "req.headers.authorization",
  "req.headers.cookie",
  'req.headers["x-api-key"]',
  'res.headers["set-cookie"]',
  "authorization",
  "cookie",
  "password",
  "*.password",
  "*.currentPassword",
  "*.newPassword",
  "token",
  "*.token",
  "*.accessToken",
  "*.refreshToken",
  "*.apiKey",
  "*.apiSecret",
  "*.requestToken",
  "*.challengeToken",
  "*.code",
  "*.secret",
  "variables.*.password",
  "variables.*.currentPassword",
  "variables.*.newPassword",
  "variables.*.token",
  "variables.*.refreshToken",
  "variables.*.code",
  "variables.password",
  "variables.token",
  "variables.refreshToken",
  "variables.code",
  "connectionParams.authorization",
];

export function createLogger(options: { level: string; destination?: pino.DestinationStream }): Logger {
  return pino(
    {
      level: options.level,
      base: { service: "identity-subgraph" },
      redact: { paths: REDACTED_PATHS, censor: "[REDACTED]" },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    options.destination,
  );
}
