import type { Prisma } from "../db/database";
import type { Origin } from "../events/unit-of-work";
import { emailKey } from "../../shared/email";
import { consume, type RateLimitStore } from "./store";

/** What a count can be kept per, and what a caller hands over for it. */
export interface Subjects {
  /** The client's address; those whose address is not known share one count. */
  ip: Origin;
  /** An email address, counted under the database's spelling of it (`emailKey`, issue 10 item 10). */
  email: string;
  user: string;
  session: string;
  /** A key the caller built for an account (its user id, or the spelling of an unknown address). */
  account: string;
  /** A service client's client_id. */
  client: string;
}

type Name = keyof Subjects;
/** One subject, or several counted together (`"account+ip"`). */
export type Dimension = Name | `${Name}+${Name}`;
type Parts<D extends Dimension> = D extends `${infer A extends Name}+${infer B extends Name}` ? A | B : D;

/** The key part of each subject, made here only. */
const keyParts: { [N in Name]: (value: Subjects[N], db: LimitDeps["prisma"]) => string | Promise<string> } = {
  ip: (origin) => origin.ipAddress ?? "unknown",
  email: (email, db) => emailKey(db, email),
  user: (id) => id,
  session: (id) => id,
  account: (key) => key,
  client: (clientId) => clientId,
};

/** What spending a limit uses (a module's deps have both). */
export interface LimitDeps {
  rateLimits: RateLimitStore;
  prisma: Pick<Prisma, "$queryRaw">;
}

/**
 * A named rate limit: a count per subject (or pair of subjects) in a fixed window of `per`
 * milliseconds. Spending it with some subjects spends every count whose subjects are all given,
 * in the table's order, so a request can be limited per IP before its input is parsed and per
 * address after.
 */
export class Limit<D extends Dimension> {
  constructor(
    readonly name: string,
    readonly by: readonly (readonly [D, number])[],
    readonly per: number,
  ) {}

  /** One unit of each count the subjects name; RATE_LIMITED with the seconds to wait once one is spent. */
  async consume(deps: LimitDeps, subjects: Partial<Pick<Subjects, Parts<D>>>): Promise<void> {
    for (const [key, count] of await this.counts(deps, subjects)) await consume(deps.rateLimits, key, count, this.per);
  }

  /** Gives back the unit `consume` took with the same subjects (it was not what the limit counts after all). */
  async refund(deps: LimitDeps, subjects: Partial<Pick<Subjects, Parts<D>>>): Promise<void> {
    for (const [key] of await this.counts(deps, subjects)) await deps.rateLimits.hit(key, this.per, -1);
  }

  private async counts(deps: LimitDeps, subjects: Partial<Record<Name, unknown>>): Promise<[string, number][]> {
    const counts: [string, number][] = [];
    for (const [dimension, count] of this.by) {
      const names = dimension.split("+") as Name[];
      if (names.some((name) => subjects[name] === undefined)) continue;
      const parts = await Promise.all(names.map((name) => (keyParts[name] as (value: unknown, db: LimitDeps["prisma"]) => string | Promise<string>)(subjects[name], deps.prisma)));
      counts.push([`${this.name}:${dimension}:${parts.join(":")}`, count]);
    }
    if (counts.length === 0) throw new Error(`limit ${this.name}: no count is kept per ${Object.keys(subjects).join("+")}`);
    return counts;
  }
}

/** Declares a limit: `limit("resend", { by: [["ip", 5], ["email", 3]], per: HOUR })`. */
export function limit<const D extends Dimension>(name: string, spec: { by: readonly (readonly [D, number])[]; per: number }): Limit<D> {
  return new Limit(name, spec.by, spec.per);
}
