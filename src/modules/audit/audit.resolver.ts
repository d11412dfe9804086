import { Arg, Authorized, Ctx, Int, Query, Resolver } from "type-graphql";
import { signedIn } from "../../graphql/auth-checker";
import type { Context } from "../../graphql/context";
import type { AuditService } from "./audit.service";
import { AuditEventConnection } from "./audit.types";

@Resolver()
export class AuditResolver {
  constructor(private readonly audit: AuditService) {}

  @Authorized()
  @Query(() => AuditEventConnection, { description: "The caller's own audit records, newest first." })
  myAuditEvents(
    @Arg("first", () => Int, { nullable: true }) first: number | null,
    @Arg("after", () => String, { nullable: true }) after: string | null,
    @Ctx() context: Context,
  ): Promise<AuditEventConnection> {
    return this.audit.forUser(signedIn(context).userId, first, after);
  }
}
