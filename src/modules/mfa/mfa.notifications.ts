import type { NotificationTemplates } from "../../platform/events/notifications";

/** Notifications the MFA module sends (SECURITY 5). */
export const mfaNotifications = {
  "mfa-enabled": "Two-factor authentication was turned on (params: backupCodes, the number issued)",
  "mfa-disabled": "Two-factor authentication was turned off (params: ipAddress)",
  "mfa-challenge-failed": "A login with the right password failed its second factor (params: ipAddress, userAgent)",
} as const satisfies NotificationTemplates;
