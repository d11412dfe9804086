// npm run roles -- assign <email> <role>   gives the user a role (the first admin: assign <your email> admin)
// npm run roles -- remove <email> <role>   takes the role away
// npm run roles -- list <email>            prints the user's roles, one a line
// A change is the authz module's own (event, audit record with a system actor); running instances
// drop the roles they keep of that user at once (Redis pub/sub), and tokens carry them from the
// next refresh.
import "reflect-metadata"; // the modules' GraphQL types are decorated
import { authzModule } from "../modules/authz";
import { usersModule } from "../modules/users";
import { systemClock } from "../platform/clock";
import { EventHandlers } from "../platform/events/handlers";
import { UnitOfWork } from "../platform/events/unit-of-work";
import { createMemoryPubSub, createRedisPubSub, pubSubPrefix } from "../platform/pubsub/pubsub";
import { createRedis } from "../platform/redis/redis";
import { runCli } from "./context";

const USAGE = "usage: roles assign <email> <role> | roles remove <email> <role> | roles list <email>\n";

runCli("roles", async ({ config, database, logger, args }) => {
  const [command, email, role, ...rest] = args;
  const change = command === "assign" || command === "remove" ? command : null;
  if (!email || rest.length > 0 || (change ? !role : command !== "list" || role !== undefined)) {
    process.stderr.write(USAGE);
    return 2;
  }
  const prisma = database.prisma;
  const user = await prisma.user.findFirst({ where: { email: email.trim().normalize("NFC"), deletedAt: null }, select: { id: true, email: true } });
  if (!user) throw new Error(`no user has the email ${email}`);
  if (change && role && !(await prisma.role.findUnique({ where: { name: role } }))) {
    const known = (await prisma.role.findMany({ select: { name: true }, orderBy: { name: "asc" } })).map((r) => r.name);
    throw new Error(`no role is named ${role} (roles: ${known.join(", ")})`);
  }

  // Only the authz module (and the users module it registers with), over the database: no HTTP, no relay.
  const publisher = config.REDIS_URL ? createRedis(config.REDIS_URL, logger, "main", config.REDIS_COMMAND_TIMEOUT_MS) : null;
  const subscriber = config.REDIS_URL ? createRedis(config.REDIS_URL, logger, "subscriber", config.REDIS_COMMAND_TIMEOUT_MS) : null;
  const pubSub = publisher && subscriber ? createRedisPubSub(publisher, subscriber, pubSubPrefix(config.REDIS_PREFIX)) : createMemoryPubSub();
  const kernel = { prisma, sql: database.sql, unitOfWork: new UnitOfWork(prisma, database.sql, new EventHandlers(), systemClock, () => undefined), clock: systemClock, logger };
  const authz = authzModule(kernel, { pubSub, users: usersModule(kernel).api });
  try {
    const before = (await authz.api.claims.claimsOf(user.id)).roles;
    if (!change || !role) {
      process.stdout.write(before.map((r) => `${r}\n`).join(""));
      return 0;
    }
    const after = await authz.api.changeRole(user.id, role, change);
    const what = change === "assign" ? (before.includes(role) ? "already held" : "assigned") : before.includes(role) ? "removed" : "not held";
    process.stdout.write(`${user.email}: ${role} ${what}; roles: ${after.join(", ") || "none"}\n`);
    return 0;
  } finally {
    await authz.stop?.();
    subscriber?.disconnect();
    // QUIT answers once every command before it has: the change's announcement has left.
    await publisher?.quit().catch(() => undefined);
  }
});
