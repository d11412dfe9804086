import type { NotificationTemplates } from "../../platform/events/notifications";

/** Notifications the sessions module sends. */
export const sessionsNotifications = {
  "new-device-login": { topic: "security", description: "A login from a device not seen before (params: deviceName, ipAddress)" },
} as const satisfies NotificationTemplates;
