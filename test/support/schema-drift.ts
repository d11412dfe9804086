import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { get_dmmf } from "@prisma/prisma-schema-wasm";
import type pg from "pg";

/** A comparable description of the database shape: one string per table, column, index and enum. */
export type Shape = string[];

interface DmmfField {
  name: string;
  dbName: string | null;
  kind: "scalar" | "enum" | "object" | "unsupported";
  type: string;
  isRequired: boolean;
  isList: boolean;
  nativeType: [string, string[]] | null;
}
interface DmmfModel {
  name: string;
  dbName: string | null;
  fields: DmmfField[];
}
interface DmmfIndex {
  model: string;
  type: "id" | "unique" | "normal" | "fulltext";
  dbName?: string | null;
  fields: { name: string }[];
}
interface DmmfEnum {
  name: string;
  dbName: string | null;
  values: { name: string; dbName: string | null }[];
}

const SCALAR_TYPES: Record<string, string> = {
  String: "text",
  Int: "integer",
  BigInt: "bigint",
  Boolean: "boolean",
  Float: "double precision",
  Decimal: "numeric(65,30)",
  DateTime: "timestamp(3) without time zone",
  Json: "jsonb",
  Bytes: "bytea",
};

/** PostgreSQL's `format_type` spelling of a Prisma native type. */
function nativeTypeName(name: string, args: string[]): string {
  const a = args.length ? `(${args.join(",")})` : "";
  switch (name) {
    case "VarChar":
      return `character varying${a}`;
    case "Char":
      return `character${a}`;
    case "Timestamptz":
      return `timestamp${a || "(6)"} with time zone`;
    case "Timestamp":
      return `timestamp${a || "(6)"} without time zone`;
    case "Decimal":
      return `numeric${a}`;
    case "Integer":
      return "integer";
    case "DoublePrecision":
      return "double precision";
    default:
      return name.toLowerCase() + a;
  }
}

/**
 * The shape the schema folder describes (every .prisma file in it, as prisma.config.ts names it),
 * parsed by Prisma's own schema engine, compiled to WebAssembly.
 */
export async function expectedShape(schemaDir = path.resolve(__dirname, "../../prisma")): Promise<Shape> {
  const files = (await readdir(schemaDir, { recursive: true })).filter((file) => file.endsWith(".prisma")).sort();
  const prismaSchema = await Promise.all(files.map(async (file) => [file, await readFile(path.join(schemaDir, file), "utf8")]));
  const dmmf = JSON.parse(get_dmmf(JSON.stringify({ prismaSchema }))) as {
    datamodel: { models: DmmfModel[]; enums: DmmfEnum[]; indexes: DmmfIndex[] };
  };
  const enumDbName = new Map(dmmf.datamodel.enums.map((e) => [e.name, e.dbName ?? e.name]));
  const shape: Shape = [];
  const tables = new Map<string, { table: string; columns: Map<string, string> }>();
  for (const model of dmmf.datamodel.models) {
    const table = model.dbName ?? model.name;
    const columns = new Map<string, string>();
    shape.push(`table ${table}`);
    for (const field of model.fields) {
      if (field.kind !== "scalar" && field.kind !== "enum") continue;
      const column = field.dbName ?? field.name;
      columns.set(field.name, column);
      const type = field.kind === "enum" ? enumDbName.get(field.type) : field.nativeType ? nativeTypeName(field.nativeType[0], field.nativeType[1]) : SCALAR_TYPES[field.type];
      // A list is a PostgreSQL array, never null (Prisma lists are required).
      shape.push(`column ${table}.${column} ${type}${field.isList ? "[]" : ""} ${field.isRequired || field.isList ? "not null" : "null"}`);
    }
    tables.set(model.name, { table, columns });
  }
  for (const index of dmmf.datamodel.indexes) {
    const model = tables.get(index.model);
    if (!model) continue;
    const columns = index.fields.map((f) => model.columns.get(f.name) ?? f.name);
    const suffix = index.type === "id" ? "pkey" : index.type === "unique" ? `${columns.join("_")}_key` : `${columns.join("_")}_idx`;
    const name = index.dbName ?? `${model.table}_${suffix}`;
    const kind = index.type === "id" ? "primary" : index.type === "unique" ? "unique" : "index";
    shape.push(`${kind} ${model.table}.${name} (${columns.join(", ")})`);
  }
  for (const e of dmmf.datamodel.enums) shape.push(`enum ${e.dbName ?? e.name} (${e.values.map((v) => v.dbName ?? v.name).join(", ")})`);
  return shape.sort();
}

/** The shape of the migrated database (public schema, Prisma's bookkeeping table excluded). */
export async function actualShape(client: pg.Client): Promise<Shape> {
  const shape: Shape = [];
  const tables = await client.query<{ table: string }>(
    `SELECT c.relname AS table FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = 'public' AND c.relkind = 'r' AND c.relname <> '_prisma_migrations'`,
  );
  for (const { table } of tables.rows) shape.push(`table ${table}`);
  const columns = await client.query<{ table: string; column: string; type: string; notnull: boolean }>(
    `SELECT c.relname AS table, a.attname AS column, format_type(a.atttypid, a.atttypmod) AS type, a.attnotnull AS notnull
     FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = 'public' AND c.relkind = 'r' AND c.relname <> '_prisma_migrations' AND a.attnum > 0 AND NOT a.attisdropped`,
  );
  for (const c of columns.rows) shape.push(`column ${c.table}.${c.column} ${c.type} ${c.notnull ? "not null" : "null"}`);
  const indexes = await client.query<{ table: string; name: string; primary: boolean; unique: boolean; columns: string[] }>(
    `SELECT t.relname AS table, i.relname AS name, x.indisprimary AS primary, x.indisunique AS unique,
            array_agg(a.attname::text ORDER BY k.ord) AS columns
     FROM pg_index x
     JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid
     JOIN pg_namespace n ON n.oid = t.relnamespace
     CROSS JOIN LATERAL unnest(x.indkey) WITH ORDINALITY AS k(attnum, ord)
     JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum
     -- Partial indexes (a WHERE clause) cannot be written in schema.prisma: the migrations own them.
     WHERE n.nspname = 'public' AND t.relname <> '_prisma_migrations' AND x.indpred IS NULL
     GROUP BY t.relname, i.relname, x.indisprimary, x.indisunique`,
  );
  for (const i of indexes.rows) shape.push(`${i.primary ? "primary" : i.unique ? "unique" : "index"} ${i.table}.${i.name} (${i.columns.join(", ")})`);
  const enums = await client.query<{ name: string; labels: string[] }>(
    `SELECT t.typname AS name, array_agg(e.enumlabel::text ORDER BY e.enumsortorder) AS labels
     FROM pg_type t JOIN pg_enum e ON e.enumtypid = t.oid JOIN pg_namespace n ON n.oid = t.typnamespace
     WHERE n.nspname = 'public' GROUP BY t.typname`,
  );
  for (const e of enums.rows) shape.push(`enum ${e.name} (${e.labels.join(", ")})`);
  return shape.sort();
}
