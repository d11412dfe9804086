import { httpUrl, int, type ConfigPart } from "../../shared/config-spec";

/** The trading-accounts module's variables (the seed's names for Kite Connect). */
export const tradingAccountsConfig = {
  KITE_API_BASE_URL: httpUrl("Kite Connect API", "https://api.kite.trade"),
  KITE_LOGIN_URL: httpUrl("Kite Connect login page the client opens with ?v=3&api_key=… (it redirects back with request_token)", "https://kite.zerodha.com/connect/login"),
  KITE_API_TIMEOUT_SECONDS: int("Timeout of one call to Kite Connect", 10, 1, 120),
  KITE_API_MAX_RETRIES: int("Retries of a Kite call that failed transiently (429, 5xx, timeouts), with jittered backoff", 3, 0, 10),
} satisfies ConfigPart;
