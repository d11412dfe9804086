import pg from "pg";
import { quoteIdent } from "./sql";

/**
 * A connection of its own that LISTENs on `channel` (PostgreSQL only: the embedded database has no
 * other process to hear from). `onNotify` runs for each NOTIFY; `onLost` when the connection fails,
 * after which nothing more arrives on it.
 */
export async function listen(url: string, channel: string, onNotify: () => void, onLost: (error: Error) => void): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url });
  client.on("error", onLost);
  client.on("notification", onNotify);
  await client.connect();
  await client.query(`LISTEN ${quoteIdent(channel)}`);
  return client;
}
