import type { NotificationTemplates } from "../../platform/events/notifications";

/** Notifications the MFA module sends (SECURITY 5): always sent. */
export const mfaNotifications = {
  "mfa-enabled": { topic: "security", description: "Two-factor authentication was turned on (params: backupCodes, the number issued)" },
  "mfa-disabled": { topic: "security", description: "Two-factor authentication was turned off (params: ipAddress)" },
  "mfa-challenge-failed": { topic: "security", description: "A login with the right password failed its second factor (params: ipAddress, userAgent)" },
} as const satisfies NotificationTemplates;
