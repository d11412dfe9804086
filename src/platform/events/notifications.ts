import type { notificationTemplates } from "../../modules/declarations";

/**
 * Templates of the `notifications` queue (contract) as their owner declares them: name → what the
 * message says and its params. The notification service renders them.
 */
export type NotificationTemplates = Readonly<Record<string, string>>;

/** Every template a module declares (src/modules/declarations.ts merges them). */
export type NotificationTemplate = keyof typeof notificationTemplates & string;

/** Job data on `notifications`: one message to one person. */
export interface Notification {
  to: string;
  template: NotificationTemplate;
  locale: string;
  params: Record<string, string>;
}
