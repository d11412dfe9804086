import DataLoader from "dataloader";
import type { PasswordHasher } from "../../platform/crypto/passwords";
import { SingleUseTokens } from "../../shared/single-use-tokens";
import type { Kernel, Module } from "../module";
import type { SessionsApi } from "../sessions";
import type { UsersApi } from "../users";
import { mfaPersonalData } from "./mfa.personal-data";
import { MfaResolver } from "./mfa.resolver";
import { MfaService } from "./mfa.service";

export interface MfaDeps {
  hasher: PasswordHasher;
  sessions: Pick<SessionsApi, "start" | "stepUp" | "addGate" | "useSecondFactorStatus">;
  users: Pick<UsersApi, "personalData">;
}

/** TOTP with backup codes: enrolment, the login gate and its challenge, step-up. */
export function mfaModule(kernel: Kernel, deps: MfaDeps): Module {
  const service = new MfaService(
    { ...kernel, hasher: deps.hasher, sessions: deps.sessions, challenges: new SingleUseTokens<"mfa-challenge">(kernel.clock) },
    { issuer: kernel.config.MFA_ISSUER, challengeTtlMs: kernel.config.MFA_CHALLENGE_TTL_S * 1000 },
  );
  deps.sessions.addGate(service.gate);
  deps.sessions.useSecondFactorStatus(() => new DataLoader((ids: readonly string[]) => service.enabledFor(ids), { maxBatchSize: 1000 }));
  deps.users.personalData.register(mfaPersonalData(kernel.prisma));
  return { name: "mfa", api: {}, resolvers: [new MfaResolver(service)] };
}
