import { int, spec, Invalid, type ConfigPart } from "../../shared/config-spec";

const url = (description: string, def: string) =>
  spec(description, def, (raw) => {
    const value = raw === undefined || raw === "" ? def : raw.trim();
    try {
      if (!["http:", "https:"].includes(new URL(value).protocol)) throw new Error();
    } catch {
      throw new Invalid("expected an http(s) URL");
    }
    return value.replace(/\/+$/, "");
  });

/** The trading-accounts module's variables (the seed's names for Kite Connect). */
export const tradingAccountsConfig = {
  KITE_API_BASE_URL: url("Kite Connect API", "https://api.kite.trade"),
  KITE_LOGIN_URL: url("Kite Connect login page the client opens with ?v=3&api_key=… (it redirects back with request_token)", "https://kite.zerodha.com/connect/login"),
  KITE_API_TIMEOUT_SECONDS: int("Timeout of one call to Kite Connect", 10, 1, 120),
  KITE_API_MAX_RETRIES: int("Retries of a Kite call that failed transiently (429, 5xx, timeouts), with jittered backoff", 3, 0, 10),
} satisfies ConfigPart;
