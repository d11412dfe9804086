import type { Binding, KeyVault, SealedRecord } from "./vault";

/** A sealed value where it is stored. */
export interface SealedRow {
  id: string;
  binding: Binding;
  record: SealedRecord;
}

/** Where sealed values are stored: a table (or column) keys:rewrap walks. */
export interface SealedRows {
  readonly name: string;
  /** Up to `limit` rows after `after` (null: from the start), in id order. */
  page(after: string | null, limit: number): Promise<SealedRow[]>;
  /** Stores `next` if the row still holds `previous` (one statement); false when it changed or went meanwhile. */
  replace(id: string, previous: SealedRecord, next: SealedRecord): Promise<boolean>;
}

/**
 * Re-seals every value whose KEK `stale` names under the vault's current KEK, in batches of
 * `batchSize` rows: no lock is held between statements and each row changes in one conditional
 * update, so instances keep serving (what they hold open is unchanged) and a row changed meanwhile
 * is left as its writer sealed it. Returns how many values were re-sealed.
 */
export async function rewrapAll(vault: KeyVault, tables: readonly SealedRows[], batchSize: number, stale: (kekId: string) => boolean): Promise<number> {
  let rewrapped = 0;
  for (const table of tables) {
    let after: string | null = null;
    for (;;) {
      const rows = await table.page(after, batchSize);
      for (const { id, binding, record } of rows) {
        if (!stale(record.kekId)) continue;
        const next = await vault.seal(await vault.open(record, binding), binding);
        if (await table.replace(id, record, next)) rewrapped += 1;
      }
      if (rows.length < batchSize) break;
      after = (rows.at(-1) as SealedRow).id;
    }
  }
  return rewrapped;
}
