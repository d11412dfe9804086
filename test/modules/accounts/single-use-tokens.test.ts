import { hashToken } from "../../../src/platform/crypto/tokens";
import { SingleUseTokens } from "../../../src/shared/single-use-tokens";
import { PASSWORD, newEmail, useApp } from "../../support/harness";

// The primitive behind email verification and password reset links, on real PostgreSQL.
const h = useApp({ OUTBOX_RELAY: "false" }, { http: false });
const origin = { actor: { type: "anonymous" as const, id: null }, ipAddress: "203.0.113.7" };
const tokens = () => new SingleUseTokens<"verify" | "reset">(h.clock);

async function newUser(): Promise<string> {
  const email = newEmail();
  await h.services.accounts.register({ email, password: PASSWORD }, origin);
  return (await h.prisma.user.findUniqueOrThrow({ where: { email } })).id;
}

it("single-use tokens: only the token's hash is stored, and a token presented twice at once is spent once", async () => {
  const userId = await newUser();
  const { token } = await tokens().issue(h.prisma, "reset", userId, 60_000);
  expect(await h.prisma.singleUseToken.count({ where: { purpose: "reset", tokenHash: hashToken(token), userId } })).toBe(1);
  expect(await h.prisma.singleUseToken.count({ where: { purpose: "reset", tokenHash: token } })).toBe(0);
  const spent = await Promise.all([1, 2].map(async () => (await h.prisma.$transaction((tx) => tokens().consume(tx, "reset", token)))?.userId ?? null));
  expect(spent.sort()).toEqual([userId, null].sort());
  expect(await tokens().consume(h.prisma, "reset", token)).toBeNull();
});

it("single-use tokens: a peek does not spend a token, and a token stops working once the clock passes its expiry", async () => {
  const userId = await newUser();
  const { token } = await tokens().issue(h.prisma, "reset", userId, 60_000);
  expect((await tokens().peek(h.prisma, "reset", token))?.userId).toBe(userId);
  expect((await tokens().peek(h.prisma, "reset", token))?.userId).toBe(userId);
  h.clock.offsetMs = 61_000;
  expect(await tokens().peek(h.prisma, "reset", token)).toBeNull();
  expect(await tokens().consume(h.prisma, "reset", token)).toBeNull();
  h.clock.offsetMs = 0;
  expect((await tokens().consume(h.prisma, "reset", token))?.userId).toBe(userId);
});

it("single-use tokens: a token works only for its purpose, and voiding a user's tokens voids the unused ones of that purpose only", async () => {
  const userId = await newUser();
  const tokensOf = tokens();
  const [spent, unused, other] = [await tokensOf.issue(h.prisma, "reset", userId, 60_000), await tokensOf.issue(h.prisma, "reset", userId, 60_000), await tokensOf.issue(h.prisma, "verify", userId, 60_000)];
  expect(await tokensOf.consume(h.prisma, "verify", spent.token)).toBeNull();
  expect((await tokensOf.consume(h.prisma, "reset", spent.token))?.userId).toBe(userId);
  expect(await tokensOf.voidUnused(h.prisma, "reset", userId)).toBe(1);
  expect(await tokensOf.consume(h.prisma, "reset", unused.token)).toBeNull();
  expect((await tokensOf.consume(h.prisma, "verify", other.token))?.userId).toBe(userId);
  expect(await h.prisma.singleUseToken.count({ where: { purpose: "reset", tokenHash: hashToken(spent.token), usedAt: { not: null } } })).toBe(1);
});

it("single-use tokens: a string that is not a token's shape is refused without a query", async () => {
  const db = { $queryRaw: jest.fn(), $executeRaw: jest.fn() };
  for (const presented of ["", "short", `${"a".repeat(43)}'`, "a".repeat(44)]) {
    expect(await tokens().consume(db as never, "reset", presented)).toBeNull();
    expect(await tokens().peek(db as never, "reset", presented)).toBeNull();
  }
  expect(db.$queryRaw).not.toHaveBeenCalled();
});
