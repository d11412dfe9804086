import { Arg, Ctx, Int, Query, Resolver } from "type-graphql";
import type { Context } from "../../graphql/context";
import { UnauthenticatedError } from "../../graphql/errors";
import { AuditEventConnection } from "./audit.types";

@Resolver()
export class AuditResolver {
  @Query(() => AuditEventConnection, { description: "The caller's own audit records, newest first." })
  myAuditEvents(
    @Arg("first", () => Int, { nullable: true }) first: number | null,
    @Arg("after", () => String, { nullable: true }) after: string | null,
    @Ctx() context: Context,
  ): Promise<AuditEventConnection> {
    if (!context.viewer) throw new UnauthenticatedError();
    return context.services.audit.forUser(context.viewer.userId, first, after);
  }
}
