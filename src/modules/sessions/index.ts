import type { Redis } from "ioredis";
import type { TokenVerifier } from "../../graphql/auth";
import type { Viewer } from "../../graphql/context";
import type { PasswordHasher } from "../../platform/crypto/passwords";
import type { AccessTokens } from "../../platform/jwt/access-tokens";
import type { KeyStore } from "../../platform/jwt/keys";
import type { PubSub } from "../../platform/pubsub/pubsub";
import type { Kernel, Module, Route } from "../module";
import type { UsersApi } from "../users";
import { AccessTokenVerifier } from "./jwt-authenticator";
import { activeAccountGate, type ClaimsSource, type LoginGate } from "./seams";
import { SessionRevocations } from "./revocations";
import { SessionsResolver } from "./sessions.resolver";
import { sessionsPersonalData } from "./sessions.personal-data";
import { SessionsService } from "./sessions.service";
import { UserMfaResolver, noSecondFactor } from "./user-mfa.resolver";
import type { LoaderFactory } from "../../graphql/loaders";

export interface SessionsDeps {
  tokens: AccessTokens;
  /** The signing keys, published at /.well-known/jwks.json. */
  keys: Pick<KeyStore, "jwks">;
  hasher: PasswordHasher;
  /** Service mode only: where ended sessions are marked. */
  redis: Redis | null;
  pubSub: PubSub;
  /** Prefix of this deployment's Redis keys. */
  redisPrefix: string;
  /** The roles access tokens carry, at login and at every refresh. */
  claims: ClaimsSource;
  users: Pick<UsersApi, "personalData">;
}

export interface SessionsApi {
  /** Users' access tokens → viewers (a token whose session has ended is refused), for both transports and introspection. */
  userTokens: TokenVerifier<Viewer>;
  /** Whether sessions ended, marked and announced to every instance. */
  revocations: SessionRevocations;
  /** Every way in ends here: the gates, then a session and its tokens (or a gate's challenge). */
  start: SessionsService["start"];
  /** A second factor given now in the viewer's session: recorded there, and a fresh access token saying so. */
  stepUp: SessionsService["stepUp"];
  /** Adds a check every way in passes, after those added before it; a repeated name is refused. */
  addGate(gate: LoginGate): void;
  /** Where `User.mfaEnabled` comes from (the MFA module gives it, once). */
  useSecondFactorStatus(status: LoaderFactory<string, boolean>): void;
}

/** Logins, tokens and sessions per device. */
export function sessionsModule(kernel: Kernel, deps: SessionsDeps): Module<SessionsApi> {
  const { config } = kernel;
  const revocations = new SessionRevocations({
    prisma: kernel.prisma,
    redis: deps.redis,
    pubSub: deps.pubSub,
    clock: kernel.clock,
    logger: kernel.logger,
    prefix: `${deps.redisPrefix}revoked-session:`,
    ttlSeconds: config.ACCESS_TOKEN_TTL_S,
  });
  revocations.subscribe(kernel.handlers);
  deps.users.personalData.register(sessionsPersonalData(kernel.prisma));
  const gates: LoginGate[] = [activeAccountGate];
  const addGate = (gate: LoginGate) => {
    if (gates.some((known) => known.name === gate.name)) throw new Error(`login gate ${gate.name} is registered twice`);
    gates.push(gate);
  };
  const service = new SessionsService({ ...kernel, hasher: deps.hasher, tokens: deps.tokens, revocations, gates, claims: deps.claims }, {
    refreshIdleMs: config.REFRESH_IDLE_TTL_S * 1000,
    sessionMs: config.SESSION_TTL_S * 1000,
    rememberMeSessionMs: config.SESSION_REMEMBER_TTL_S * 1000,
    refreshPerMinute: config.REFRESH_RATE_LIMIT,
    reuseGraceMs: config.REFRESH_REUSE_GRACE_S * 1000,
    loginsPerAddress: config.LOGIN_ADDRESS_RATE_LIMIT,
  });
  let secondFactorStatus = noSecondFactor;
  const useSecondFactorStatus = (status: LoaderFactory<string, boolean>) => {
    if (secondFactorStatus !== noSecondFactor) throw new Error("the second-factor status source is given twice");
    secondFactorStatus = status;
  };
  return {
    name: "sessions",
    api: { userTokens: new AccessTokenVerifier(deps.tokens, revocations), revocations, start: (...args) => service.start(...args), stepUp: (...args) => service.stepUp(...args), addGate, useSecondFactorStatus },
    resolvers: [new SessionsResolver(service), new UserMfaResolver(() => secondFactorStatus)],
    routes: [jwksRoute(deps.keys)],
  };
}

/** The public keys access tokens are verified with; a verifier may keep them five minutes. */
function jwksRoute(keys: SessionsDeps["keys"]): Route {
  return {
    method: "GET",
    path: "/.well-known/jwks.json",
    handle: (_request, response) => {
      response.writeHead(200, { "content-type": "application/json; charset=utf-8", "cache-control": "public, max-age=300" }).end(JSON.stringify(keys.jwks()));
    },
  };
}

export { endSessions } from "./sessions.service";
export type { SessionRevocations } from "./revocations";
export { AccessTokenPayload, AuthPayload, MfaChallenge, MfaMethod } from "./session.types";
export type { Amr, ClaimsSource, Device, LoginGate, LoginProof, LoginRefusal, LoginSubject } from "./seams";
