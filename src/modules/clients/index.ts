import type { TokenVerifier } from "../../graphql/auth";
import type { ClientCaller } from "../../graphql/context";
import type { ClientTokens } from "../../platform/jwt/access-tokens";
import type { PubSub } from "../../platform/pubsub/pubsub";
import type { AuthzApi } from "../authz";
import type { Kernel, Module } from "../module";
import type { SessionsApi } from "../sessions";
import { ClientsResolver } from "./clients.resolver";
import { ClientsService } from "./clients.service";
import { oauthRoutes } from "./oauth.routes";

export interface ClientsDeps {
  /** Signs and verifies the client credentials grant's tokens (the signing keys of users' tokens). */
  tokens: ClientTokens;
  /** Users' tokens, which introspection answers for too. */
  sessions: Pick<SessionsApi, "userTokens">;
  pubSub: PubSub;
  authz: Pick<AuthzApi, "scopeHeld">;
}

export interface ClientsApi {
  /** Service clients' bearer tokens → callers (a disabled client's are refused), for both transports. */
  clientTokens: TokenVerifier<ClientCaller>;
}

/** Service clients: their management, POST /oauth/token (client credentials), POST /oauth/introspect. */
export function clientsModule(kernel: Kernel, deps: ClientsDeps): Module<ClientsApi> {
  const service = new ClientsService({ ...kernel, tokens: deps.tokens, userTokens: deps.sessions.userTokens, pubSub: deps.pubSub, scopeHeld: deps.authz.scopeHeld });
  const stop = service.listen();
  return { name: "clients", api: { clientTokens: service.clientTokens }, resolvers: [new ClientsResolver(service)], routes: oauthRoutes(service, kernel), stop };
}
