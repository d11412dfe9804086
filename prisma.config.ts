// Prisma CLI configuration (Prisma 7 reads the datasource URL from here, not from schema.prisma).
// The service applies migrations itself (src/platform/db/migrator.ts); this file serves the CLI on
// machines that have Prisma's schema engine (`prisma migrate status`, `prisma migrate diff`).
import { defineConfig } from "prisma/config";

export default defineConfig({
  schema: "prisma/",
  migrations: { path: "prisma/migrations" },
  datasource: { url: process.env.DATABASE_URL ?? "postgresql://postgres@127.0.0.1:5432/identity" },
});
