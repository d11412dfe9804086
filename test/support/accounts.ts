import type { MovableClock } from "./clock";
import { useApp, type Harness } from "./harness";

export { PASSWORD, fromNewIp, newEmail } from "./harness";

export type AccountsHarness = Pick<Harness, "t" | "queues" | "mailTo">;

/** The harness under its former name, for the test files not moved to `useApp` yet. */
export function useAccountsApp(clock?: MovableClock): AccountsHarness {
  return useApp({}, { clock });
}
