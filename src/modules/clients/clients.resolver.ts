import { Arg, Authorized, Ctx, ID, Mutation, Resolver } from "type-graphql";
import { signedIn } from "../../graphql/auth-checker";
import type { Context } from "../../graphql/context";
import type { ClientsService } from "./clients.service";
import { CreateServiceClientInput, ServiceClientCredentials } from "./clients.types";

const WRITE = "perm:service_clients:write";

@Resolver()
export class ClientsResolver {
  constructor(private readonly clients: ClientsService) {}

  @Authorized(WRITE)
  @Mutation(() => ServiceClientCredentials, { description: "A new service client with its scopes; its secret is answered this once." })
  createServiceClient(@Arg("input", () => CreateServiceClientInput) input: CreateServiceClientInput, @Ctx() context: Context): Promise<ServiceClientCredentials> {
    return this.clients.create(signedIn(context), input, context.origin);
  }

  @Authorized(WRITE)
  @Mutation(() => ServiceClientCredentials, { description: "A new secret, answered this once; the old one stops working at once." })
  rotateServiceClientSecret(@Arg("id", () => ID) id: string, @Ctx() context: Context): Promise<ServiceClientCredentials> {
    return this.clients.rotateSecret(signedIn(context), id, context.origin);
  }

  @Authorized(WRITE)
  @Mutation(() => Boolean, { description: "Disables a service client for good: no more tokens, and its tokens are refused from the next request." })
  disableServiceClient(@Arg("id", () => ID) id: string, @Ctx() context: Context): Promise<boolean> {
    return this.clients.disable(signedIn(context), id, context.origin);
  }
}
