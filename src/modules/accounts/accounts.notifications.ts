import type { NotificationTemplates } from "../../platform/events/notifications";

/** Notifications the accounts module sends: all about the account's security, always sent. */
export const accountsNotifications = {
  "verify-email": { topic: "security", description: "The link proving ownership of a new account's email (params: token, link)" },
  "account-exists": { topic: "security", description: "Registration was tried with this email, already taken (params: link to log in)" },
  "password-reset": { topic: "security", description: "A password reset link (params: token, link)" },
  "password-changed": { topic: "security", description: "The password was changed or reset" },
} as const satisfies NotificationTemplates;
