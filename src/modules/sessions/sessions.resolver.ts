import { Arg, Ctx, ID, Mutation, Query, Resolver } from "type-graphql";
import type { Context, Viewer } from "../../graphql/context";
import { UnauthenticatedError } from "../../graphql/errors";
import { User } from "../users/user.type";
import { AuthPayload, LoginInput, LoginResult, SessionInfo } from "./session.types";

function signedIn(context: Context): Viewer {
  if (!context.viewer) throw new UnauthenticatedError();
  return context.viewer;
}

@Resolver()
export class SessionsResolver {
  @Mutation(() => LoginResult, { description: "Password login: tokens, or an MFA challenge when a second factor is enabled." })
  login(@Arg("input", () => LoginInput) input: LoginInput, @Ctx() context: Context): Promise<typeof LoginResult> {
    return context.services.sessions.login(input, context.origin, context.signal);
  }

  @Mutation(() => AuthPayload, { description: "Rotates a refresh token; the presented one stops working." })
  refreshTokens(@Arg("refreshToken") refreshToken: string, @Ctx() context: Context): Promise<AuthPayload> {
    return context.services.sessions.refresh(refreshToken, context.origin);
  }

  @Mutation(() => Boolean, { description: "Ends the current session, or every session with allDevices." })
  logout(@Arg("allDevices", () => Boolean, { nullable: true }) allDevices: boolean | null, @Ctx() context: Context): Promise<boolean> {
    return context.services.sessions.logout(signedIn(context), allDevices === true, context.origin);
  }

  @Query(() => [SessionInfo], { description: "The caller's live sessions, one per device." })
  mySessions(@Ctx() context: Context): Promise<SessionInfo[]> {
    return context.services.sessions.mySessions(signedIn(context));
  }

  @Mutation(() => Boolean, { description: "Ends one of the caller's sessions (another device)." })
  revokeSession(@Arg("id", () => ID) id: string, @Ctx() context: Context): Promise<boolean> {
    return context.services.sessions.revokeSession(signedIn(context), id, context.origin);
  }

  @Query(() => User, { description: "The signed-in user, private fields included." })
  me(@Ctx() context: Context): Promise<User> {
    return context.services.sessions.me(signedIn(context));
  }
}
