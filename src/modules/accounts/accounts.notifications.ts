import type { NotificationTemplates } from "../../platform/events/notifications";

/** Notifications the accounts module sends. */
export const accountsNotifications = {
  "verify-email": "The link proving ownership of a new account's email (params: token, link)",
  "account-exists": "Registration was tried with this email, already taken (params: link to log in)",
  "password-reset": "A password reset link (params: token, link)",
  "password-changed": "The password was changed or reset",
} as const satisfies NotificationTemplates;
