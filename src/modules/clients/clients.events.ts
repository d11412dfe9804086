import { z } from "zod";
import type { EventCatalogue } from "../../platform/events/catalogue";

const clientId = z.string();
const by = z.uuid();

/** Events of service clients. None carries a secret or a token. */
export const clientsEvents = {
  "service_client.created": {
    version: 1,
    aggregateType: "service_client",
    emittedWhen: "A service client is created (its secret is shown once, to its creator).",
    payload: z.object({ clientId, name: z.string(), scopes: z.array(z.string()), by }).strict(),
  },
  "service_client.secret_rotated": {
    version: 1,
    aggregateType: "service_client",
    emittedWhen: "A service client's secret is replaced: the old one stops working at once (tokens already issued live out CLIENT_TOKEN_TTL_S).",
    payload: z.object({ clientId, by }).strict(),
  },
  "service_client.disabled": {
    version: 1,
    aggregateType: "service_client",
    emittedWhen: "A service client is disabled: it gets no more tokens and its tokens are refused from the next request.",
    payload: z.object({ clientId, by }).strict(),
  },
} as const satisfies EventCatalogue;
