import type { IncomingMessage, ServerResponse } from "node:http";
import { callerInfo } from "../../http/client-ip";
import { readBody } from "../../http/read-body";
import type { Origin } from "../../platform/events/unit-of-work";
import type { LimitDeps } from "../../platform/ratelimit/limits";
import { RateLimitedError } from "../../shared/errors";
import type { Kernel, Route } from "../module";
import { clientsLimits } from "./clients.limits";
import type { AuthenticatedClient, ClientsService } from "./clients.service";

/** The error codes of RFC 6749 §5.2 this service answers, and `slow_down` for a rate limit. */
type OAuthErrorCode = "invalid_request" | "invalid_client" | "unsupported_grant_type" | "invalid_scope" | "slow_down";

class OAuthError extends Error {
  constructor(
    readonly code: OAuthErrorCode,
    readonly description: string,
    /** The body was not read to its end: the connection is closed after the answer. */
    readonly unread = false,
    readonly retryAfterSeconds?: number,
  ) {
    super(description);
  }
}

/** The largest form accepted: a token request is a few hundred bytes. */
const FORM_LIMIT_BYTES = 16 * 1024;
const REALM = 'Basic realm="identity", charset="UTF-8"';

function send(response: ServerResponse, status: number, body: object, headers: Record<string, string> = {}): void {
  response.writeHead(status, { "content-type": "application/json; charset=utf-8", "cache-control": "no-store", pragma: "no-cache", ...headers }).end(JSON.stringify(body));
}

function answerError(response: ServerResponse, error: OAuthError): void {
  const headers: Record<string, string> = error.unread ? { connection: "close" } : {};
  if (error.code === "invalid_client") headers["www-authenticate"] = REALM;
  if (error.retryAfterSeconds !== undefined) headers["retry-after"] = String(error.retryAfterSeconds);
  const status = error.code === "invalid_client" ? 401 : error.code === "slow_down" ? 429 : 400;
  send(response, status, { error: error.code, error_description: error.description }, headers);
}


/** An `application/x-www-form-urlencoded` body (RFC 6749 §3.2): no parameter twice; an empty one is omitted. */
async function readForm(request: IncomingMessage): Promise<Map<string, string>> {
  const type = request.headers["content-type"]?.split(";")[0]?.trim().toLowerCase();
  if (type !== "application/x-www-form-urlencoded") throw new OAuthError("invalid_request", "The body must be application/x-www-form-urlencoded", true);
  if (Number(request.headers["content-length"] ?? 0) > FORM_LIMIT_BYTES) throw new OAuthError("invalid_request", `The body exceeds ${FORM_LIMIT_BYTES} bytes`, true);
  const body = await readBody(request, FORM_LIMIT_BYTES);
  if (body === null) throw new OAuthError("invalid_request", `The body exceeds ${FORM_LIMIT_BYTES} bytes`, true);
  const form = new Map<string, string>();
  for (const [name, value] of new URLSearchParams(body.toString("utf8"))) {
    if (form.has(name)) throw new OAuthError("invalid_request", `${name.slice(0, 64)} is given more than once`);
    if (value !== "") form.set(name, value);
  }
  return form;
}

/** RFC 6749 §2.3.1: the id and the secret are form-urlencoded before they are joined by `:` and base64-encoded. */
function basicCredentials(header: string): { id: string; secret: string } {
  const encoded = /^Basic ([A-Za-z0-9+/=]{1,1024})$/i.exec(header)?.[1];
  const decoded = encoded ? Buffer.from(encoded, "base64").toString("utf8") : "";
  const colon = decoded.indexOf(":");
  if (colon < 1) throw new OAuthError("invalid_client", "Client authentication failed");
  const formDecode = (part: string) => decodeURIComponent(part.replace(/\+/g, " "));
  try {
    return { id: formDecode(decoded.slice(0, colon)), secret: formDecode(decoded.slice(colon + 1)) };
  } catch {
    throw new OAuthError("invalid_client", "Client authentication failed");
  }
}

/** The OAuth endpoints of service clients: the token endpoint, introspection and the server's metadata. */
export function oauthRoutes(service: ClientsService, kernel: Pick<Kernel, "config" | "rateLimits" | "prisma">): Route[] {
  const { config } = kernel;
  const limitDeps: LimitDeps = kernel;
  const callerOptions = { trustedProxies: config.TRUSTED_PROXIES, countryHeader: config.COUNTRY_HEADER };

  /** client_secret_basic or client_secret_post, not both; invalid_client for anything that does not authenticate. */
  const authenticateClient = async (request: IncomingMessage, form: Map<string, string>, origin: Origin): Promise<AuthenticatedClient> => {
    const header = request.headers.authorization;
    const posted = { id: form.get("client_id"), secret: form.get("client_secret") };
    let credentials: { id: string; secret: string } | null = null;
    if (header !== undefined) {
      credentials = basicCredentials(header);
      if (posted.secret !== undefined) throw new OAuthError("invalid_request", "Use one client authentication method: the Authorization header or client_secret, not both");
      if (posted.id !== undefined && posted.id !== credentials.id) throw new OAuthError("invalid_request", "client_id differs from the Authorization header's");
    } else if (posted.id !== undefined && posted.secret !== undefined) {
      credentials = { id: posted.id, secret: posted.secret };
    }
    if (!credentials) throw new OAuthError("invalid_client", "Client authentication is required (client_secret_basic or client_secret_post)");
    const client = await service.authenticate(credentials.id, credentials.secret, origin);
    if (!client) throw new OAuthError("invalid_client", "Client authentication failed");
    return client;
  };

  /** A POST endpoint answering JSON: counted per address first, then the form is read and the client authenticated, then counted per client. */
  const endpoint = (path: string, limit: (typeof clientsLimits)[keyof typeof clientsLimits], answer: (form: Map<string, string>, client: AuthenticatedClient, origin: Origin) => Promise<object>): Route => ({
    method: "POST",
    path,
    handle: async (request, response, requestId) => {
      const origin: Origin = { actor: { type: "anonymous", id: null }, ...callerInfo(request, callerOptions), requestId };
      try {
        await limit.consume(limitDeps, { ip: origin });
        const form = await readForm(request);
        const client = await authenticateClient(request, form, origin);
        await limit.consume(limitDeps, { client: client.clientId });
        send(response, 200, await answer(form, client, { ...origin, actor: { type: "service", id: client.clientId } }));
      } catch (error) {
        if (error instanceof RateLimitedError) return answerError(response, new OAuthError("slow_down", `Too many requests; retry after ${error.retryAfterSeconds} s`, !request.readableEnded, error.retryAfterSeconds));
        if (error instanceof OAuthError) return answerError(response, error);
        throw error;
      }
    },
  });

  const token = endpoint("/oauth/token", clientsLimits.token, async (form, client, origin) => {
    const grantType = form.get("grant_type");
    if (grantType === undefined) throw new OAuthError("invalid_request", "grant_type is required");
    if (grantType !== "client_credentials") throw new OAuthError("unsupported_grant_type", "Only grant_type=client_credentials is supported");
    const scopes = service.grantedScopes(client, form.get("scope"));
    if (!scopes) throw new OAuthError("invalid_scope", "scope must name only scopes the client has");
    return service.issueToken(client, scopes, origin);
  });

  const introspect = endpoint("/oauth/introspect", clientsLimits.introspect, async (form) => {
    const presented = form.get("token");
    if (presented === undefined) throw new OAuthError("invalid_request", "token is required");
    return service.introspect(presented);
  });

  const base = config.PUBLIC_URL.replace(/\/$/, "");
  const metadata = {
    issuer: config.PUBLIC_URL,
    token_endpoint: `${base}/oauth/token`,
    introspection_endpoint: `${base}/oauth/introspect`,
    jwks_uri: `${base}/.well-known/jwks.json`,
    grant_types_supported: ["client_credentials"],
    response_types_supported: [],
    token_endpoint_auth_methods_supported: ["client_secret_basic", "client_secret_post"],
    introspection_endpoint_auth_methods_supported: ["client_secret_basic", "client_secret_post"],
  };
  const discovery: Route = {
    method: "GET",
    path: "/.well-known/oauth-authorization-server",
    handle: (_request, response) => {
      response.writeHead(200, { "content-type": "application/json; charset=utf-8", "cache-control": "public, max-age=300" }).end(JSON.stringify(metadata));
    },
  };
  return [token, introspect, discovery];
}
