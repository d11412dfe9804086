import type { SingleUseFields } from "../../graphql/validation";

/** Root fields that spend one broker request token each (Kite's are single-use): aliases must not multiply them. */
export const tradingAccountsSingleUseFields = {
  linkTradingAccount: "one broker login exchanged for a linked account",
  renewTradingAccountSession: "one broker login exchanged for a renewed session",
  rotateTradingAccountCredentials: "one broker login proving new credentials",
} as const satisfies SingleUseFields;
