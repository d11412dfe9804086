import { randomBytes } from "node:crypto";
import { generateSync } from "otplib";
import { EnableTotpDocument, LoginDocument, CompleteMfaLoginDocument, SetupTotpDocument } from "../support/generated/operations";
import { withClient } from "../support/db";
import { graphql } from "../support/graphql";
import { PASSWORD, fromNewIp, useApp } from "../support/harness";
import { runCliTool } from "../support/process";

const kmsKey = (name: string, key: Buffer) => `${name}:${key.toString("base64")}`;
const [oldKek, newKek] = [randomBytes(32), randomBytes(32)];
const h = useApp({ KMS_MASTER_KEY: kmsKey("2026-01", oldKek) });

it("SECURITY 56, 27: TOTP secrets are sealed by the key vault: after a KEK rotation and keys:rewrap they open under the new KEK alone, and the login challenge still takes a code", async () => {
  const user = await h.signedIn();
  const secret = (await h.gql(SetupTotpDocument, {}, user.headers)).data?.setupTotp.secret as string;
  expect((await h.gql(EnableTotpDocument, { code: generateSync({ secret }) }, user.headers)).data?.enableTotp.backupCodes).toHaveLength(10);
  const kekOf = () => withClient(h.t.databaseUrl, async (c) => (await c.query<{ kek_id: string }>("SELECT kek_id FROM mfa_totp WHERE user_id = $1", [user.user.id])).rows[0]?.kek_id);
  expect(await kekOf()).toBe("local:2026-01");
  const rotated = `${kmsKey("2027-01", newKek)},${kmsKey("2026-01", oldKek)}`;
  expect(await runCliTool("keys-rewrap", h.t.databaseUrl, [], { KMS_MASTER_KEY: rotated })).toMatch(/^re-wrapped [2-9]\d* sealed values under local:2027-01\n$/);
  expect(await kekOf()).toBe("local:2027-01");
  // An instance holding only the new KEK opens the secret: the challenge is completed with a code of it.
  const next = await h.anotherInstance({ KMS_MASTER_KEY: kmsKey("2027-01", newKek) });
  try {
    const headers = fromNewIp();
    const login = await graphql(next.baseUrl, LoginDocument, { input: { email: user.email, password: PASSWORD } }, headers);
    if (login.data?.login.__typename !== "MfaChallenge") throw new Error("expected a challenge");
    const code = generateSync({ secret, epoch: Math.floor(Date.now() / 1000) + 30 }); // the next step: the enrolment spent this one (SECURITY 25)
    const done = await graphql(next.baseUrl, CompleteMfaLoginDocument, { input: { challengeToken: login.data.login.challengeToken, code } }, headers);
    expect(done.data?.completeMfaLogin.user.id).toBe(user.user.id);
  } finally {
    await next.app.stop();
  }
});
