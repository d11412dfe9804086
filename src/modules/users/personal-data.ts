import type { WorkScope } from "../../platform/events/unit-of-work";

/** One module's part of a person's data: what it holds of them, and how it forgets it. */
export interface PersonalDataPart {
  readonly module: string;
  /** The module's rows of the user, without secrets (no hashes, no tokens). */
  export(userId: string): Promise<unknown>;
  /** Removes (or keeps, saying why in its comment) the module's rows of the user, inside the erasure's unit of work. */
  erase(scope: WorkScope, userId: string): Promise<void>;
}

/** Where modules join a person's data export and erasure (GDPR), so that nothing central lists them. */
export class PersonalDataRegistry {
  private readonly parts: PersonalDataPart[] = [];

  /** A module's part; a second part of the same module is refused. */
  register(part: PersonalDataPart): void {
    if (this.parts.some((known) => known.module === part.module)) throw new Error(`personal data of ${part.module} is registered twice`);
    this.parts.push(part);
  }

  /** Every registered module's part of the user's data, by module. */
  async export(userId: string): Promise<Record<string, unknown>> {
    return Object.fromEntries(await Promise.all(this.parts.map(async (part) => [part.module, await part.export(userId)] as const)));
  }

  /** Every registered module forgets the user, in one unit of work. */
  async erase(scope: WorkScope, userId: string): Promise<void> {
    for (const part of this.parts) await part.erase(scope, userId);
  }
}
