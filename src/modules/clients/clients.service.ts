import { randomBytes, randomUUID, timingSafeEqual } from "node:crypto";
import { decodeJwt, type JWTPayload } from "jose";
import type { TokenVerifier } from "../../graphql/auth";
import type { ClientCaller, Viewer } from "../../graphql/context";
import { hashToken, newOpaqueToken } from "../../platform/crypto/tokens";
import type { Origin } from "../../platform/events/unit-of-work";
import { InvalidTokenError, isClientToken, type ClientTokens } from "../../platform/jwt/access-tokens";
import { AppError, BadUserInputError, NotFoundError, UnauthenticatedError } from "../../shared/errors";
import { InputCheck, idArgument } from "../../shared/input-check";
import { announce, listen, type PubSub } from "../../platform/pubsub/pubsub";
import type { Kernel } from "../module";
import type { CreateServiceClientInput, ServiceClientCredentials } from "./clients.types";

export type ClientsServiceDeps = Pick<Kernel, "prisma" | "unitOfWork" | "clock" | "logger" | "background"> & {
  tokens: ClientTokens;
  /** Where a disabling is announced to every instance. */
  pubSub: PubSub;
  /** Whether the client still holds a scope of its token (the authz module: no DENY policy takes it). */
  scopeHeld: (client: ClientCaller, scope: string) => Promise<boolean>;
  /** Users' access tokens, for introspection (a token whose session has ended is inactive). */
  userTokens: TokenVerifier<Viewer>;
};

/** A client that has authenticated (`authenticate`). */
export interface AuthenticatedClient {
  id: string;
  clientId: string;
  scopes: string[];
}

/** A scope as clients are given it: `<domain>:<action>`, lowercase letters and `_`. */
const SCOPE = /^[a-z][a-z_]*:[a-z][a-z_]*$/;
const MAX_SCOPES = 50;
/** Compared against when the client id is unknown, so that it costs what a known one does. */
const NO_CLIENT = hashToken("no such service client");
const DISABLED_TOPIC = "clients:disabled";
/** How long an instance trusts that a client is enabled without asking (a lost announcement's bound). */
const ENABLED_FOR_MS = 5_000;
const ENABLED_CACHE_SIZE = 10_000;

const PUBLIC_FIELDS = { id: true, clientId: true, name: true, scopes: true, createdAt: true, secretRotatedAt: true, disabledAt: true } as const;

/** Public client ids: `svc_` and 128 random bits, base64url (policies name them `client:<clientId>`). */
const newClientId = () => `svc_${randomBytes(16).toString("base64url")}`;

/**
 * Service clients: created, rotated and disabled by holders of `service_clients:write`; they
 * authenticate with their secret (compared as SHA-256 digests in constant time) and get tokens of
 * the client credentials grant, which stop working once the client is disabled (asked on every use).
 */
export class ClientsService {
  /** Clients known enabled, by client id, until when (ms): asked again after ENABLED_FOR_MS, forgotten at once when disabled. */
  private readonly enabled = new Map<string, number>();

  constructor(private readonly deps: ClientsServiceDeps) {}

  /** Disablings heard so far (here or announced): a lookup that overlapped one does not remember its answer. */
  private disablingsHeard = 0;

  private forgetEnabled(clientId: string): void {
    this.disablingsHeard += 1;
    this.enabled.delete(clientId);
  }

  /** Forgets disabled clients when any instance announces one; returns the unsubscribe. */
  listen(): () => Promise<void> {
    return listen(this.deps.pubSub, DISABLED_TOPIC, (clientId) => typeof clientId === "string" && this.forgetEnabled(clientId), this.deps.logger, "service-client listener");
  }

  async create(viewer: Viewer, input: CreateServiceClientInput, origin: Origin): Promise<ServiceClientCredentials> {
    const check = new InputCheck("input");
    const name = check.text("name", input.name, 100);
    if (name === null) check.problem("name", "must not be empty");
    const scopes = [...new Set(input.scopes)].sort();
    const bad = scopes.find((scope) => !SCOPE.test(scope) || scope.length > 100);
    if (scopes.length === 0 || scopes.length > MAX_SCOPES) check.problem("scopes", `must be 1 to ${MAX_SCOPES} scopes`);
    else if (bad !== undefined) check.problem("scopes", `must be <domain>:<action> names (lowercase letters and _): ${JSON.stringify(bad.slice(0, 100))} is not`);
    if (check.problems.length > 0) throw new BadUserInputError(check.problems);
    const id = randomUUID();
    const clientId = newClientId();
    const secret = newOpaqueToken();
    const client = await this.deps.unitOfWork.run(origin, async (scope) => {
      const row = await scope.tx.serviceClient.create({
        data: { id, clientId, name: name as string, scopes, secretHash: hashToken(secret), createdBy: viewer.userId, createdAt: this.deps.clock.now() },
        select: PUBLIC_FIELDS,
      });
      scope.publish("service_client.created", id, { clientId, name: row.name, scopes, by: viewer.userId });
      scope.audit({ action: "service_client.create", subjectType: "service_client", subjectId: id, metadata: { clientId, name: row.name, scopes } });
      return row;
    });
    return { client, clientSecret: secret };
  }

  /** A new secret; the old one fails from now on. A disabled client keeps none. */
  async rotateSecret(viewer: Viewer, rawId: string, origin: Origin): Promise<ServiceClientCredentials> {
    const id = idArgument("id", rawId);
    const secret = newOpaqueToken();
    const client = await this.deps.unitOfWork.run(origin, async (scope) => {
      const { count } = await scope.tx.serviceClient.updateMany({ where: { id, disabledAt: null }, data: { secretHash: hashToken(secret), secretRotatedAt: this.deps.clock.now() } });
      const row = await scope.tx.serviceClient.findUnique({ where: { id }, select: PUBLIC_FIELDS });
      if (!row) throw new NotFoundError("Service client");
      if (count === 0) throw BadUserInputError.field("id", "is a disabled service client");
      scope.publish("service_client.secret_rotated", id, { clientId: row.clientId, by: viewer.userId });
      scope.audit({ action: "service_client.rotate_secret", subjectType: "service_client", subjectId: id, metadata: { clientId: row.clientId } });
      return row;
    });
    return { client, clientSecret: secret };
  }

  /** Disables a client for good; disabling it again changes nothing. */
  async disable(viewer: Viewer, rawId: string, origin: Origin): Promise<true> {
    const id = idArgument("id", rawId);
    let disabled: string | null = null;
    await this.deps.unitOfWork.run(origin, async (scope) => {
      const { count } = await scope.tx.serviceClient.updateMany({ where: { id, disabledAt: null }, data: { disabledAt: this.deps.clock.now() } });
      const row = await scope.tx.serviceClient.findUnique({ where: { id }, select: { clientId: true } });
      if (!row) throw new NotFoundError("Service client");
      if (count === 0) return;
      scope.publish("service_client.disabled", id, { clientId: row.clientId, by: viewer.userId });
      scope.audit({ action: "service_client.disable", subjectType: "service_client", subjectId: id, metadata: { clientId: row.clientId } });
      disabled = row.clientId;
    });
    if (disabled) {
      this.forgetEnabled(disabled);
      // Lost: other instances ask the database again within ENABLED_FOR_MS.
      announce(this.deps.pubSub, DISABLED_TOPIC, disabled, this.deps.logger, "a disabled service client");
    }
    return true;
  }

  /**
   * The enabled client whose secret this is; null otherwise (an unknown id costs the same digest
   * comparison). A failure of a known client is audited with its reason.
   */
  async authenticate(clientId: string, secret: string, origin: Origin): Promise<AuthenticatedClient | null> {
    if (clientId.length > 64 || secret.length > 256) return null;
    const row = await this.deps.prisma.serviceClient.findUnique({ where: { clientId }, select: { id: true, clientId: true, scopes: true, secretHash: true, disabledAt: true } });
    const matches = timingSafeEqual(Buffer.from(hashToken(secret), "hex"), Buffer.from(row?.secretHash ?? NO_CLIENT, "hex"));
    if (row && matches && !row.disabledAt) return { id: row.id, clientId: row.clientId, scopes: row.scopes };
    if (row) {
      const reason = row.disabledAt ? "disabled" : "wrong_secret";
      // In the background: a known id's refusal answers in the time an unknown id's does.
      await this.deps.background.run("client authentication failure record", () =>
        this.deps.unitOfWork.run(origin, async (scope) => scope.audit({ action: "service_client.authenticate", outcome: "failure", subjectType: "service_client", subjectId: row.id, metadata: { clientId, reason } })),
      );
    }
    return null;
  }

  /** The scopes a token request gets: all the client's when it names none, else those it names if the client has them all; null otherwise. */
  grantedScopes(client: AuthenticatedClient, requested: string | undefined): string[] | null {
    const asked = [...new Set((requested ?? "").split(" ").filter(Boolean))];
    if (asked.length === 0) return client.scopes;
    return asked.every((scope) => client.scopes.includes(scope)) ? asked : null;
  }

  /** The client credentials grant's answer (RFC 6749 §4.4.3, §5.1), audited. */
  async issueToken(client: AuthenticatedClient, scopes: string[], origin: Origin) {
    const accessToken = await this.deps.tokens.issue({ clientId: client.clientId, scopes });
    await this.deps.unitOfWork.run(origin, async (scope) => scope.audit({ action: "service_client.token", subjectType: "service_client", subjectId: client.id, metadata: { clientId: client.clientId, scopes } }));
    return { access_token: accessToken, token_type: "Bearer", expires_in: this.deps.tokens.ttlSeconds, scope: scopes.join(" ") };
  }

  /**
   * A service client's bearer token: it must verify and its client must still be enabled. Whether it
   * is, is remembered ENABLED_FOR_MS per instance; a disabling is heard at once on every instance (pub/sub),
   * and within ENABLED_FOR_MS when the announcement is lost.
   */
  readonly clientTokens: TokenVerifier<ClientCaller> = {
    verify: async (token) => {
      const claims = await this.deps.tokens.verify(token);
      const now = this.deps.clock.now().getTime();
      if ((this.enabled.get(claims.clientId) ?? 0) > now) return claims;
      const heard = this.disablingsHeard;
      const row = await this.deps.prisma.serviceClient.findUnique({ where: { clientId: claims.clientId }, select: { disabledAt: true } });
      if (!row || row.disabledAt) throw new UnauthenticatedError("Service client is disabled");
      // A disabling heard while the row was read may be this client's: not remembered as enabled then.
      if (heard === this.disablingsHeard) {
        if (this.enabled.size >= ENABLED_CACHE_SIZE) this.enabled.delete(this.enabled.keys().next().value as string);
        this.enabled.set(claims.clientId, now + ENABLED_FOR_MS);
      }
      return claims;
    },
  };

  /**
   * RFC 7662: what a live token of this service says (a client's: its client_id and scope; a
   * user's: the user and the session), or only `{ active: false }`: not ours, not valid, expired,
   * its session ended or its client disabled.
   */
  /** A client token's introspection subject: its scopes less those a DENY policy takes from the client now; null when none is left. */
  private async clientSubject(token: string): Promise<{ sub: string; client_id: string; scope: string } | null> {
    const client = await this.clientTokens.verify(token);
    const held = await Promise.all(client.scopes.map((scope) => this.deps.scopeHeld(client, scope)));
    const scopes = client.scopes.filter((_, i) => held[i]);
    return scopes.length === 0 ? null : { sub: client.clientId, client_id: client.clientId, scope: scopes.join(" ") };
  }

  async introspect(token: string): Promise<Record<string, unknown>> {
    try {
      const subject = isClientToken(token) ? await this.clientSubject(token) : await this.deps.userTokens.verify(token).then((v) => ({ sub: v.userId, sid: v.sessionId }));
      if (!subject) return { active: false };
      // Verified: the rest of its claims can be read as they are.
      const { iat, exp, iss, aud, jti } = decodeJwt(token) as JWTPayload;
      return { active: true, ...subject, exp, iat, iss, aud, jti, token_type: "Bearer" };
    } catch (error) {
      if (error instanceof InvalidTokenError || error instanceof AppError) return { active: false };
      throw error;
    }
  }
}
