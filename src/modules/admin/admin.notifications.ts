import type { NotificationTemplates } from "../../platform/events/notifications";

/** Notifications the admin module sends. */
export const adminNotifications = {
  "account-suspended": { topic: "security", description: "The account was suspended by an administrator and every session ended (params: none; the reason is internal)" },
} as const satisfies NotificationTemplates;
