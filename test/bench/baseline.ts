import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import pg from "pg";

/** The SQL the app runs for a batch of user references (Prisma's `findMany` with `in`). */
const SQL = "SELECT id, name, avatar_url FROM users WHERE id = ANY($1::uuid[]) AND deleted_at IS NULL";

interface Body {
  variables?: { representations?: { id: string }[]; id?: string };
}

/**
 * The floor: bare node:http + pg answering the same requests with the same SQL and the same JSON,
 * without GraphQL. What the app costs beyond it is the price of GraphQL, federation and Prisma.
 */
export async function startBaseline(databaseUrl: string, poolSize: number): Promise<{ url: string; close(): Promise<void> }> {
  const pool = new pg.Pool({ connectionString: databaseUrl, max: poolSize });
  const server: Server = createServer((req, res) => {
    let raw = "";
    req.on("data", (chunk: Buffer) => (raw += chunk.toString()));
    req.on("end", async () => {
      try {
        const { variables = {} } = JSON.parse(raw) as Body;
        const ids = variables.representations ? variables.representations.map((r) => r.id) : [variables.id ?? ""];
        const { rows } = await pool.query<{ id: string; name: string | null; avatar_url: string | null }>(SQL, [ids]);
        const byId = new Map(rows.map((r) => [r.id, { id: r.id, displayName: r.name ?? "Member", avatarUrl: r.avatar_url }]));
        const users = ids.map((id) => byId.get(id) ?? null);
        const data = variables.representations ? { _entities: users } : { user: users[0] };
        res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ data }));
      } catch (error) {
        res.writeHead(500).end(String(error));
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`,
    async close() {
      await new Promise((resolve) => server.close(resolve));
      await pool.end();
    },
  };
}
