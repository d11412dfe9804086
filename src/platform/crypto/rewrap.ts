import { sql, type Prisma } from "../db/database";
import { Prisma as PrismaNamespace } from "../../generated/prisma/client";
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

/** Where an owner (a module, the platform) keeps sealed values, by table: what keys:rewrap walks. */
export type SealedStores = Readonly<Record<string, (prisma: Prisma) => SealedRows>>;

/** A table whose rows each hold one sealed value, by column name (constants of the code, never input). */
export interface SealedColumns {
  table: string;
  /** The key column, and its type (compared in that type, so its index serves the pages). */
  id: string;
  idType: "uuid" | "text";
  ciphertext: string;
  /** Defaults: `wrapped_key` and `kek_id`, the vault's own names. */
  wrappedKey?: string;
  kekId?: string;
  binding(id: string): Binding;
}

/** The SealedRows of a table that stores a sealed value in three columns (ciphertext, wrapped key, KEK id). */
export function sealedColumns(prisma: Pick<Prisma, "$queryRaw" | "$executeRaw">, columns: SealedColumns): SealedRows {
  const ident = (name: string) => PrismaNamespace.raw(`"${name}"`);
  const [table, id, ciphertext, wrappedKey, kekId] = [columns.table, columns.id, columns.ciphertext, columns.wrappedKey ?? "wrapped_key", columns.kekId ?? "kek_id"].map(ident) as [PrismaNamespace.Sql, PrismaNamespace.Sql, PrismaNamespace.Sql, PrismaNamespace.Sql, PrismaNamespace.Sql];
  const idType = PrismaNamespace.raw(columns.idType);
  return {
    name: columns.table,
    async page(after, limit) {
      const rows = await prisma.$queryRaw<{ id: string; ciphertext: string; wrappedKey: string; kekId: string }[]>(sql`
        SELECT ${id}::text AS id, ${ciphertext} AS ciphertext, ${wrappedKey} AS "wrappedKey", ${kekId} AS "kekId" FROM ${table}
        WHERE ${after}::${idType} IS NULL OR ${id} > ${after}::${idType} ORDER BY ${id} LIMIT ${limit}`);
      return rows.map(({ id: rowId, ...record }) => ({ id: rowId, binding: columns.binding(rowId), record }));
    },
    async replace(rowId, previous, next) {
      const changed = await prisma.$executeRaw(sql`
        UPDATE ${table} SET ${ciphertext} = ${next.ciphertext}, ${wrappedKey} = ${next.wrappedKey}, ${kekId} = ${next.kekId}
        WHERE ${id} = ${rowId}::${idType} AND ${ciphertext} = ${previous.ciphertext} AND ${kekId} = ${previous.kekId}`);
      return changed === 1;
    },
  };
}
