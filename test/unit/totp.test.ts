import { generateSync } from "otplib";
import { createAuthChecker, recentAuthentication } from "../../src/graphql/auth-checker";
import type { Context, Viewer } from "../../src/graphql/context";
import { looksLikeTotp, newBackupCodes, newTotpSecret, normaliseBackupCode, otpauthUri, totpStep } from "../../src/modules/mfa/totp";

/** RFC 6238 appendix B's SHA-1 seed, "12345678901234567890", in base32. */
const RFC_SECRET = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";
/** RFC 6238 appendix B, SHA-1: time (s) and the 8-digit TOTP. */
const RFC_VECTORS: [number, string][] = [
  [59, "94287082"],
  [1111111109, "07081804"],
  [1111111111, "14050471"],
  [1234567890, "89005924"],
  [2000000000, "69279037"],
  [20000000000, "65353130"],
];

it("RFC 6238's SHA-1 test vectors: 8 digits as the RFC lists them, and their 6-digit codes accepted at their time step", async () => {
  for (const [time, code] of RFC_VECTORS) {
    expect(generateSync({ secret: RFC_SECRET, epoch: time, digits: 8 })).toBe(code);
    await expect(totpStep(RFC_SECRET, code.slice(2), time * 1000)).resolves.toBe(Math.floor(time / 30));
  }
});

it("SECURITY 24: at most one time step of drift: the codes of t-30 s and t+30 s pass; t-90 s and t+90 s fail", async () => {
  const now = 1_800_000_015_000;
  const at = (offsetS: number) => generateSync({ secret: RFC_SECRET, epoch: now / 1000 + offsetS });
  await expect(totpStep(RFC_SECRET, at(0), now)).resolves.toBe(Math.floor(now / 30_000));
  await expect(totpStep(RFC_SECRET, at(-30), now)).resolves.toBe(Math.floor(now / 30_000) - 1);
  await expect(totpStep(RFC_SECRET, at(30), now)).resolves.toBe(Math.floor(now / 30_000) + 1);
  await expect(totpStep(RFC_SECRET, at(-90), now)).resolves.toBeNull();
  await expect(totpStep(RFC_SECRET, at(90), now)).resolves.toBeNull();
  await expect(totpStep(RFC_SECRET, "12345", now)).resolves.toBeNull();
  await expect(totpStep(RFC_SECRET, "abcdef", now)).resolves.toBeNull();
});

it("SECURITY 27: a new secret has 160 bits (32 base32 characters), a new one each time", () => {
  const secrets = new Set(Array.from({ length: 50 }, newTotpSecret));
  expect(secrets.size).toBe(50);
  for (const secret of secrets) expect(secret).toMatch(/^[A-Z2-7]{32}$/);
});

it("the otpauth:// URI spells out issuer, algorithm, digits and period, the label escaped", () => {
  expect(otpauthUri("Acme Trade", "ann+1@example.test", "JBSWY3DPEHPK3PXP")).toBe(
    "otpauth://totp/Acme%20Trade:ann%2B1%40example.test?secret=JBSWY3DPEHPK3PXP&issuer=Acme%20Trade&algorithm=SHA1&digits=6&period=30",
  );
});

it("SECURITY 29: backup codes: 10, 12 characters of an unambiguous alphabet (60 bits), read back in any case, with or without dashes, O for 0 and I or L for 1", () => {
  const codes = newBackupCodes();
  expect(codes).toHaveLength(10);
  for (const code of codes) expect(code).toMatch(/^[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){2}$/);
  expect(normaliseBackupCode("ab1c-0def-2gh3")).toBe("AB1C0DEF2GH3");
  expect(normaliseBackupCode(" abIc ODef 2ghL ")).toBe("AB1C0DEF2GH1");
  expect(normaliseBackupCode("AB1C-0DEF-2GH")).toBeNull();
  expect(normaliseBackupCode("AB1C-0DEF-2GHU")).toBeNull();
  expect(looksLikeTotp("123 456")).toBe(true);
  expect(looksLikeTotp(codes[0] as string)).toBe(false);
});

describe("the auth checker's recent-mfa and recent-auth requirements", () => {
  const clock = { now: () => new Date(1_800_000_000_000) };
  const viewer = (amr: string[], ageS: number): Viewer => ({ userId: "u", sessionId: "s", roles: [], amr, authTime: 1_800_000_000 - ageS });
  it("is met by a second factor given at most that many seconds ago, and by nothing else", () => {
    expect(recentAuthentication(viewer(["pwd", "otp"], 299), "recent-mfa:300", clock)).toBe(true);
    expect(recentAuthentication(viewer(["pwd", "otp"], 301), "recent-mfa:300", clock)).toBe(false);
    expect(recentAuthentication(viewer(["pwd"], 0), "recent-mfa:300", clock)).toBe(false);
    expect(recentAuthentication(viewer(["pwd"], 299), "recent-auth:300", clock)).toBe(true);
    expect(recentAuthentication(viewer(["pwd"], 301), "recent-auth:300", clock)).toBe(false);
  });
  it("is checked by the auth checker, FORBIDDEN naming it when unmet", async () => {
    const check = createAuthChecker(clock);
    const call = async (v: Viewer) => check({ context: { viewer: v } as Context, root: {}, args: {}, info: {} as never }, ["recent-mfa:300"]);
    await expect(call(viewer(["pwd", "otp"], 10))).resolves.toBe(true);
    await expect(call(viewer(["pwd"], 10))).rejects.toThrow("Requires recent-mfa:300");
  });
});
