/** Templates of the `notifications` queue (contract). The notification service renders them. */
export type NotificationTemplate =
  | "verify-email"
  | "password-reset"
  | "account-exists"
  | "password-changed"
  | "new-device-login"
  | "mfa-enabled"
  | "mfa-disabled"
  | "kyc-status-changed";

/** Job data on `notifications`: one message to one person. */
export interface Notification {
  to: string;
  template: NotificationTemplate;
  locale: string;
  params: Record<string, string>;
}
