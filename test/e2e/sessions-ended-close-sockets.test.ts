import { LogoutDocument, RefreshTokensDocument, RequestPasswordResetDocument, ResetPasswordDocument } from "../support/generated/operations";
import { fromNewIp, useApp } from "../support/harness";
import { graphql } from "../support/graphql";
import { runOperation, wsClient } from "../support/ws";

const h = useApp();
const clock = h.clock;
const wsUrl = () => `${h.t.baseUrl.replace("http", "ws")}/graphql`;
const ME = "{ me { id email } }";
const UPDATE = `mutation { updateProfile(input: { name: "Still Here" }) { id } }`;

/** A signed-in socket kept open (not lazy) that has already run `me`, and a promise of its close code. */
async function signedInSocket(accessToken: string) {
  let resolveClose: (code: number) => void = () => undefined;
  const closed = new Promise<number>((resolve) => (resolveClose = resolve));
  const c = wsClient(wsUrl(), { authorization: `Bearer ${accessToken}` }, { lazy: false, onNonLazyError: () => undefined });
  c.on("closed", (event) => resolveClose((event as { code: number }).code));
  expect((await runOperation(c, ME)).data).toMatchObject({ me: { id: expect.any(String) } });
  return { c, closed };
}

async function within<T>(ms: number, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([promise, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`not within ${ms} ms`)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

describe("item 2 (SECURITY 6, 53): a socket keeps no account after its session ends", () => {
  it("logout(allDevices) over HTTP closes the session's sockets with 4403 within seconds", async () => {
    const auth = await h.signedIn();
    const { c, closed } = await signedInSocket(auth.accessToken);
    expect((await graphql(h.t.baseUrl, LogoutDocument, { allDevices: true }, { authorization: `Bearer ${auth.accessToken}` })).data).toEqual({ logout: true });
    expect(await within(3000, closed)).toBe(4403);
    await c.dispose();
  });

  it("a password reset closes them too", async () => {
    const auth = await h.signedIn();
    const { c, closed } = await signedInSocket(auth.accessToken);
    await graphql(h.t.baseUrl, RequestPasswordResetDocument, { email: auth.email }, fromNewIp());
    const { params } = await h.mailTo(auth.email, "password-reset");
    expect((await graphql(h.t.baseUrl, ResetPasswordDocument, { input: { token: params.token as string, newPassword: "Reset-Pass-2024!" } })).data).toEqual({ resetPassword: true });
    expect(await within(3000, closed)).toBe(4403);
    await c.dispose();
  });

  it("refresh-token reuse closes them too", async () => {
    const auth = await h.signedIn();
    const { c, closed } = await signedInSocket(auth.accessToken);
    expect((await graphql(h.t.baseUrl, RefreshTokensDocument, { refreshToken: auth.refreshToken })).data?.refreshTokens).toBeDefined();
    clock.offsetMs = 60_000; // past REFRESH_REUSE_GRACE_S: the old token again is reuse
    expect((await graphql(h.t.baseUrl, RefreshTokensDocument, { refreshToken: auth.refreshToken })).errors?.[0]?.extensions?.code).toBe("UNAUTHENTICATED");
    expect(await within(3000, closed)).toBe(4403);
    await c.dispose();
  });

  it("every operation is authenticated again: once the access token has expired, the next operation closes the socket with 4403", async () => {
    const auth = await h.signedIn();
    const { c, closed } = await signedInSocket(auth.accessToken);
    clock.offsetMs = 16 * 60_000; // past ACCESS_TOKEN_TTL_S
    expect(await runOperation(c, UPDATE)).toEqual({ closeCode: 4403 });
    expect(await closed).toBe(4403);
    await c.dispose();
  });

  it("a session ended while its announcement is lost is still refused at the next operation", async () => {
    const auth = await h.signedIn();
    const { c, closed } = await signedInSocket(auth.accessToken);
    // The session ends in the source of truth only: no Redis mark, no announcement reaches the socket.
    await h.t.app.platform.database.prisma.session.update({ where: { id: auth.session.id }, data: { revokedAt: new Date() } });
    await h.t.app.platform.redis!.set(`${h.t.redisPrefix}revoked-session:${auth.session.id}`, "1");
    expect(await runOperation(c, UPDATE)).toEqual({ closeCode: 4403 });
    expect(await closed).toBe(4403);
    await c.dispose();
  });
});
