import { Args, Authorized, Ctx, Query, Resolver } from "type-graphql";
import { signedIn } from "../../graphql/auth-checker";
import type { Context } from "../../graphql/context";
import type { AuditService } from "./audit.service";
import { AuditEventConnection, AuditEventsArgs } from "./audit.types";

@Resolver()
export class AuditResolver {
  constructor(private readonly audit: AuditService) {}

  @Authorized()
  @Query(() => AuditEventConnection, { description: "The caller's own audit records, newest first." })
  myAuditEvents(@Args(() => AuditEventsArgs) { filter, first, after }: AuditEventsArgs, @Ctx() context: Context): Promise<AuditEventConnection> {
    return this.audit.forUser(signedIn(context).userId, first, after, filter);
  }

  @Authorized("perm:audit:read")
  @Query(() => AuditEventConnection, { description: "Every user's audit records (auditors and admins), newest first." })
  auditEvents(@Args(() => AuditEventsArgs) { filter, first, after }: AuditEventsArgs): Promise<AuditEventConnection> {
    return this.audit.list(filter, first, after);
  }
}
