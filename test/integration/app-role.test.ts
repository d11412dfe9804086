import pg from "pg";
import { LoginDocument, LogoutDocument, MeDocument, RefreshTokensDocument, RegisterDocument, VerifyEmailDocument } from "../support/generated/operations";
import { PASSWORD, newEmail } from "../support/harness";
import { startTestApp } from "../support/app";
import { createDatabase, dropDatabase, withAdmin, withClient } from "../support/db";
import { PG_SERVER_URL, freshDatabaseUrl, uniqueSuffix } from "../support/env";
import { graphql } from "../support/graphql";
import { QueueReader } from "../support/queues";
import { waitUntil } from "../support/wait";
import { migrate } from "../../src/platform/db/migrator";
import { createLogger } from "../../src/platform/logging/logger";

it("the service runs as a login of identity_app on a database the owner migrated (as compose runs it), and that role cannot change the audit trail, its triggers or the schema", async () => {
  const ownerUrl = freshDatabaseUrl("role");
  await createDatabase(ownerUrl);
  const migrator = new pg.Client({ connectionString: ownerUrl });
  await migrator.connect();
  await migrate({ query: async <T>(text: string, params?: unknown[]) => ({ rows: (await migrator.query(text, params)).rows as T[] }), exec: (text) => migrator.query(text) }, createLogger({ level: "silent" }));
  await migrator.end();
  // As compose's init script makes identity_app a login; a role of the test's own, member of it, stands in.
  const login = `identity_app_${uniqueSuffix()}`;
  await withAdmin((admin) => admin.query(`CREATE ROLE ${login} LOGIN IN ROLE identity_app`));
  const appUrl = `${PG_SERVER_URL.replace("//postgres@", `//${login}@`)}${new URL(ownerUrl).pathname}`;
  const prefix = `test-${uniqueSuffix()}`;
  const t = await startTestApp({ DATABASE_URL: appUrl, MIGRATE_ON_START: "false", BCRYPT_COST: "4", OUTBOX_POLL_INTERVAL_MS: "100", AUDIT_CHECKPOINT_EVERY: "2", QUEUE_PREFIX: prefix });
  const queues = new QueueReader(prefix);
  try {
    const email = newEmail();
    expect((await graphql(t.baseUrl, RegisterDocument, { input: { email, password: PASSWORD } })).data?.register.status).toBe("VERIFICATION_EMAIL_SENT");
    const mail = await waitUntil("the verification mail", async () => (await queues.jobs("notifications")).find((j) => (j.data as { to: string }).to === email));
    const token = (mail.data as { params: { token: string } }).params.token;
    expect((await graphql(t.baseUrl, VerifyEmailDocument, { token })).data?.verifyEmail.status).toBe("ACTIVE");
    const session = await graphql(t.baseUrl, LoginDocument, { input: { email, password: PASSWORD } });
    const auth = session.data?.login.__typename === "AuthPayload" ? session.data.login : null;
    const refreshed = await graphql(t.baseUrl, RefreshTokensDocument, { refreshToken: auth!.refreshToken });
    const bearer = { authorization: `Bearer ${refreshed.data?.refreshTokens.accessToken as string}` };
    expect((await graphql(t.baseUrl, MeDocument, undefined, bearer)).data?.me?.email).toBe(email);
    expect((await graphql(t.baseUrl, LogoutDocument, {}, bearer)).data).toEqual({ logout: true });
    const prisma = t.app.platform.database.prisma;
    await waitUntil("the outbox to drain", async () => (await prisma.outboxEvent.count({ where: { publishedAt: null } })) === 0);
    await waitUntil("the audit records to be chained and signed", async () => {
      const [records, links, checkpoints] = await Promise.all([prisma.auditEvent.count(), prisma.auditChainLink.count(), prisma.auditCheckpoint.count()]);
      return records > 0 && links === records && checkpoints > 0;
    });
    expect(await prisma.outboxEvent.count({ where: { attempts: { gt: 1 } } })).toBe(0);

    await withClient(ownerUrl, async (c) => {
      // Every table is granted to the app (a migration adding one grants it too), the migrations' own excepted.
      const ungranted = await c.query(`SELECT relname FROM pg_class WHERE relnamespace = 'public'::regnamespace AND relkind = 'r'
        AND relname <> '_prisma_migrations' AND NOT has_table_privilege('identity_app', oid, 'SELECT')`);
      expect(ungranted.rows).toEqual([]);
    });
    await withClient(appUrl, async (c) => {
      await expect(c.query("UPDATE audit_events SET action = 'x'")).rejects.toThrow(/permission denied for table audit_events/);
      await expect(c.query("ALTER TABLE audit_chain DISABLE TRIGGER audit_chain_append_only")).rejects.toThrow(/must be owner of table audit_chain/);
      await expect(c.query("SET session_replication_role = replica")).rejects.toThrow(/permission denied/);
      await expect(c.query("CREATE TABLE intruder (id int)")).rejects.toThrow(/permission denied for schema public/);
    });
  } finally {
    await queues.close();
    await t.stop();
    await dropDatabase(ownerUrl);
    await withAdmin((admin) => admin.query(`DROP ROLE ${login}`));
  }
}, 60_000);
