import { decodeJwt } from "jose";
import { Redis } from "ioredis";
import { AdminUsersDocument } from "../support/generated/operations";
import { REDIS_URL } from "../support/env";
import { PASSWORD, newEmail, useApp } from "../support/harness";
import { runCliTool } from "../support/process";
import { waitUntil } from "../support/wait";

const h = useApp();

/** The command line against this test's app: its database, and its Redis prefix (REDIS_PREFIX), so the app hears the announcements. */
const roles = (...args: string[]) => runCliTool("roles", h.t.databaseUrl, args, { REDIS_PREFIX: h.t.redisPrefix });
/** The CLI's failure: its exit code and what it wrote to stderr. */
const failure = (...args: string[]) => roles(...args).then(
  (stdout) => ({ code: 0, stderr: "", stdout }),
  (error: { code: number; stderr: string }) => ({ code: error.code, stderr: error.stderr }),
);

it("assign makes the first admin (audited with a system actor, announced to running instances); list prints the roles; remove takes it away", async () => {
  const { email } = await h.verifiedUser();
  const { id } = await h.prisma.user.findUniqueOrThrow({ where: { email }, select: { id: true } });
  const subscriber = new Redis(REDIS_URL);
  const announced: string[] = [];
  subscriber.on("message", (_channel, message: string) => announced.push(message));
  await subscriber.subscribe(`${h.t.redisPrefix}pubsub:authz:changed`);
  try {
    expect(await roles("assign", email.toUpperCase(), "admin")).toBe(`${email}: admin assigned; roles: admin, trader\n`);
    await waitUntil("the change announced", async () => announced.includes(JSON.stringify({ userId: id })));
  } finally {
    subscriber.disconnect();
  }
  const admin = await h.signedIn({ email, password: PASSWORD });
  expect(decodeJwt(admin.accessToken).roles).toEqual(["admin", "trader"]);
  expect((await h.gql(AdminUsersDocument, { filter: { email } }, admin.headers)).data?.adminUsers.edges.map((e) => e.node.roles)).toEqual([["admin", "trader"]]);
  expect(await h.audit({ action: "role.assign", subjectId: id })).toEqual([expect.objectContaining({ actorType: "system", actorId: null, outcome: "success", metadata: { role: "admin" } })]);
  expect((await h.prisma.outboxEvent.findFirstOrThrow({ where: { name: "role.assigned", aggregateId: id, destination: "user-events" }, orderBy: { seq: "desc" } })).payload).toMatchObject({ actorId: null, data: { role: "admin", by: null } });

  expect(await roles("list", email)).toBe("admin\ntrader\n");
  expect(await roles("assign", email, "admin")).toBe(`${email}: admin already held; roles: admin, trader\n`);
  expect(await roles("remove", email, "admin")).toBe(`${email}: admin removed; roles: trader\n`);
  // The running instance had the admin's roles cached: the announcement makes it refuse at once (well within the cache's 5 s).
  await waitUntil("the running instance to refuse the removed admin", async () => (await h.gql(AdminUsersDocument, { filter: { email } }, admin.headers)).errors?.[0]?.extensions?.code === "FORBIDDEN", 3_000);
  expect(await roles("remove", email, "admin")).toBe(`${email}: admin not held; roles: trader\n`);
  expect(await h.audit({ action: "role.remove", subjectId: id })).toEqual([expect.objectContaining({ actorType: "system", actorId: null, metadata: { role: "admin" } })]);
}, 60_000);

it("an unknown email or role exits non-zero naming it; a wrong command prints the usage", async () => {
  const { email } = await h.verifiedUser();
  const stranger = newEmail();
  expect(await failure("assign", stranger, "admin")).toEqual({ code: 1, stderr: `roles: no user has the email ${stranger}\n` });
  expect(await failure("list", stranger)).toEqual({ code: 1, stderr: `roles: no user has the email ${stranger}\n` });
  expect(await failure("assign", email, "wizard")).toEqual({ code: 1, stderr: "roles: no role is named wizard (roles: admin, compliance, support, trader, viewer)\n" });
  for (const args of [[], ["grant", email, "admin"], ["assign", email], ["list", email, "admin"]]) {
    expect(await failure(...args)).toEqual({ code: 2, stderr: "usage: roles assign <email> <role> | roles remove <email> <role> | roles list <email>\n" });
  }
  const { id } = await h.prisma.user.findUniqueOrThrow({ where: { email }, select: { id: true } });
  expect(await h.audit({ actorType: "system", subjectId: id })).toEqual([]);
}, 60_000);
