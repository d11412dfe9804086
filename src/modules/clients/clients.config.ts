import { int, type ConfigPart } from "../../shared/config-spec";

/** The clients module's variables. */
export const clientsConfig = {
  CLIENT_TOKEN_TTL_S: int("Lifetime of a service client's access token (POST /oauth/token, client credentials)", 300, 60, 3600),
} satisfies ConfigPart;
