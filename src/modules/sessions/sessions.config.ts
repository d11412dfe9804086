import { int, type ConfigPart } from "../../shared/config-spec";

/** The sessions module's variables. */
export const sessionsConfig = {
  REFRESH_IDLE_TTL_S: int("A refresh token unused this long expires (idle timeout)", 1_209_600, 300, 7_776_000),
  SESSION_TTL_S: int("Absolute lifetime of a session without rememberMe", 86_400, 300, 7_776_000),
  SESSION_REMEMBER_TTL_S: int("Absolute lifetime of a session with rememberMe", 7_776_000, 300, 31_536_000),
  LOGIN_ADDRESS_RATE_LIMIT: int("Logins allowed per client address per 15 minutes, whatever the email (raise it for many users behind one address)", 100, 1, 1_000_000),
  REFRESH_RATE_LIMIT: int("Refresh token rotations allowed per session per minute", 10, 1, 100_000),
  REFRESH_REUSE_GRACE_S: int("A rotated refresh token presented again this soon after its rotation (two tabs refreshing at once) is refused without ending the session; later it is reuse (0: always reuse)", 10, 0, 300),
} satisfies ConfigPart;
