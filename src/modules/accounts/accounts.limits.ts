import type { BackgroundTasks } from "../../platform/background-tasks";
import type { Origin } from "../../platform/events/unit-of-work";
import { limit, type Limit, type LimitDeps } from "../../platform/ratelimit/limits";
import { emailArgument } from "../../shared/input-check";
import { HOUR, MINUTE } from "../../shared/time";

/** Product defaults. */
export const accountsLimits = {
  register: limit("register", { by: [["ip", 5]], per: HOUR }),
  /** Verification emails again. */
  resend: limit("resend", { by: [["ip", 5], ["email", 3]], per: HOUR }),
  /** Password reset requests, per address and per client IP. */
  reset: limit("reset", { by: [["ip", 5], ["email", 5]], per: HOUR }),
  passwordChange: limit("password-change", { by: [["user", 5]], per: 15 * MINUTE }),
};

/**
 * A request for a mail to an address (a verification link again, a reset link): limited per client
 * IP before the address is parsed and per address after, then answered true whether or not the
 * account exists, and in the same time: `work` runs in the background.
 */
export async function emailRequest(
  deps: LimitDeps & { background: BackgroundTasks },
  request: { limit: Limit<"ip" | "email">; task: string },
  rawEmail: string,
  origin: Origin,
  work: (email: string) => Promise<void>,
): Promise<true> {
  await request.limit.consume(deps, { ip: origin });
  const email = emailArgument(rawEmail);
  await request.limit.consume(deps, { email });
  await deps.background.run(request.task, () => work(email));
  return true;
}
