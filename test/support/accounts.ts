import type { MovableClock } from "./clock";
import { newEmail, useApp, type Harness } from "./harness";

export { PASSWORD, fromNewIp, newEmail } from "./harness";

/** A new address in four spellings that PostgreSQL's citext takes for one (`İ` folds to `i` there) and JavaScript's toLowerCase does not. */
export function citextSpellings(): string[] {
  const rest = newEmail();
  return ["ii", "İi", "iİ", "İİ"].map((head) => `${head}${rest}`);
}

export type AccountsHarness = Pick<Harness, "t" | "queues" | "mailTo">;

/** The harness under its former name, for the test files not moved to `useApp` yet. */
export function useAccountsApp(clock?: MovableClock): AccountsHarness {
  return useApp({}, { clock });
}
