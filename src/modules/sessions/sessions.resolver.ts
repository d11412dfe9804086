import { Arg, Authorized, Ctx, ID, Mutation, Query, Resolver } from "type-graphql";
import { signedIn } from "../../graphql/auth-checker";
import type { Context } from "../../graphql/context";
import { idArgument } from "../../shared/input-check";
import { User } from "../users";
import { AuthPayload, LoginInput, LoginResult, SessionInfo } from "./session.types";
import type { SessionsService } from "./sessions.service";

@Resolver()
export class SessionsResolver {
  constructor(private readonly sessions: SessionsService) {}

  @Mutation(() => LoginResult, { description: "Password login: tokens, or an MFA challenge when a second factor is enabled." })
  login(@Arg("input", () => LoginInput) input: LoginInput, @Ctx() context: Context): Promise<typeof LoginResult> {
    return this.sessions.login(input, context.origin, context.signal);
  }

  @Mutation(() => AuthPayload, { description: "Rotates a refresh token; the presented one stops working." })
  refreshTokens(@Arg("refreshToken") refreshToken: string, @Ctx() context: Context): Promise<AuthPayload> {
    return this.sessions.refresh(refreshToken, context.origin);
  }

  @Authorized()
  @Mutation(() => Boolean, { description: "Ends the current session, or every session with allDevices." })
  logout(@Arg("allDevices", () => Boolean, { nullable: true }) allDevices: boolean | null, @Ctx() context: Context): Promise<boolean> {
    return this.sessions.logout(signedIn(context), allDevices === true, context.origin);
  }

  @Authorized()
  @Query(() => [SessionInfo], { description: "The caller's live sessions, one per device." })
  mySessions(@Ctx() context: Context): Promise<SessionInfo[]> {
    return this.sessions.mySessions(signedIn(context));
  }

  @Authorized()
  @Mutation(() => Boolean, { description: "Ends one of the caller's sessions (another device)." })
  revokeSession(@Arg("id", () => ID) id: string, @Ctx() context: Context): Promise<boolean> {
    return this.sessions.revokeSession(signedIn(context), idArgument("id", id), context.origin);
  }

  @Authorized()
  @Query(() => User, { description: "The signed-in user, private fields included." })
  me(@Ctx() context: Context): Promise<User> {
    return this.sessions.me(signedIn(context));
  }
}
