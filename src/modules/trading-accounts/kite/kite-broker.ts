import { untilNext } from "../../../platform/jobs/jobs";
import { BrokerRefusedInput, BrokerSessionEndedError, BrokerUnavailableError, type Broker, type BrokerProfile } from "../broker";
import { KiteClient, type KiteClientOptions } from "./kite.client";
import { asError } from "../../../shared/errors";
import { KiteInputError, KiteRefusedError, KiteSessionExpiredError, KiteUnavailableError } from "./kite.errors";
import type { KiteProfile } from "./kite.model";

/** Kite sessions end at 06:00 IST, which is 00:30 UTC (India keeps no daylight saving time). */
const EXPIRY_UTC = { hour: 0, minute: 30 };

function profileOf(kite: KiteProfile): BrokerProfile {
  return { brokerUserId: kite.userId, userName: kite.userName, email: kite.email || null, exchanges: kite.exchanges, products: kite.products };
}

/** Kite's errors in the module's terms (see Broker). */
function translated(error: unknown): Error {
  if (error instanceof KiteInputError) return new BrokerRefusedInput(error.field, error.fields[0]?.message ?? "was refused by Kite");
  if (error instanceof KiteSessionExpiredError) return new BrokerSessionEndedError();
  if (error instanceof KiteUnavailableError) {
    return new BrokerUnavailableError(error.requestTokenMayBeUsed ? "Kite did not answer in time and the login may have been used: log in at Kite again and retry with the new request token" : undefined);
  }
  // Without Kite's own envelope the refusal is not Kite's judgement of the credentials (a proxy, a WAF): the broker counts as unavailable.
  if (error instanceof KiteRefusedError) return error.errorType ? new BrokerRefusedInput("apiKey", `was refused by Kite (${error.errorType})`) : new BrokerUnavailableError();
  return asError(error);
}

async function kite<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw translated(error);
  }
}

/** Kite Connect as the module's Broker (one client per process, so its circuit breaker is shared). */
export function kiteBroker(options: KiteClientOptions): Broker {
  const client = new KiteClient(options);
  return {
    name: "KITE",
    startSession: (apiKey, apiSecret, requestToken) =>
      kite(async () => {
        const session = await client.createSession(apiKey, apiSecret, requestToken);
        return { profile: profileOf(session), accessToken: session.accessToken, loginTime: session.loginTime };
      }),
    profile: (apiKey, accessToken) => kite(async () => profileOf(await client.profile(apiKey, accessToken))),
    endSession: (apiKey, accessToken) => kite(() => client.invalidateSession(apiKey, accessToken)),
    sessionEnd: (loginTime) => new Date(loginTime.getTime() + untilNext(loginTime, EXPIRY_UTC.hour, EXPIRY_UTC.minute)),
  };
}
