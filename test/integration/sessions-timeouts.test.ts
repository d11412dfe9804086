import bcrypt from "bcrypt";
import { RefreshTokensDocument } from "../support/generated/operations";
import { PASSWORD, newEmail, useApp } from "../support/harness";
import { graphql } from "../support/graphql";

const HOUR = 3_600_000;
const h = useApp({ OUTBOX_RELAY: "false", REFRESH_IDLE_TTL_S: String(2 * 3600), SESSION_TTL_S: String(5 * 3600), SESSION_REMEMBER_TTL_S: String(50 * 3600) });
const { clock } = h;

/** A new active user (written directly: no mail round trip) signed in. */
async function login(rememberMe = false) {
  const email = newEmail();
  await h.prisma.user.create({ data: { email, passwordHash: await bcrypt.hash(PASSWORD, 4), status: "ACTIVE", emailVerifiedAt: new Date() } });
  return h.signedIn({ email, password: PASSWORD }, { rememberMe });
}

const refresh = async (token: string) => (await graphql(h.t.baseUrl, RefreshTokensDocument, { refreshToken: token })).data?.refreshTokens?.refreshToken ?? null;

it("SECURITY 21: a refresh token unused past the idle timeout fails; used in time, it rotates", async () => {
  const a = await login();
  const b = await login();
  clock.offsetMs = 2 * HOUR - 60_000;
  expect(await refresh(a.refreshToken)).not.toBeNull();
  clock.offsetMs = 2 * HOUR + 60_000;
  expect(await refresh(b.refreshToken)).toBeNull();
});

it("SECURITY 19 and 21: no refresh outlives the session's absolute lifetime, however active", async () => {
  let token: string | null = (await login()).refreshToken;
  for (const hours of [1.5, 3, 4.5]) {
    clock.offsetMs = hours * HOUR;
    token = await refresh(token as string);
    expect(token).not.toBeNull();
  }
  clock.offsetMs = 5 * HOUR + 60_000;
  expect(await refresh(token as string)).toBeNull();
});

it("rememberMe chooses the long absolute lifetime", async () => {
  const remembered = await login(true);
  const session = await h.t.app.platform.database.prisma.session.findUniqueOrThrow({ where: { id: remembered.session.id } });
  expect(session.expiresAt.getTime() - session.createdAt.getTime()).toBeGreaterThan(49 * HOUR);
  const short = await login(false);
  const shortSession = await h.t.app.platform.database.prisma.session.findUniqueOrThrow({ where: { id: short.session.id } });
  expect(shortSession.expiresAt.getTime() - shortSession.createdAt.getTime()).toBeLessThan(5 * HOUR + 60_000);
});
