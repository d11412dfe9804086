import type { Query } from "../db/sql";
import type { notificationTemplates } from "../../modules/declarations";

/**
 * What a message to a person is about. A person may turn each topic off per channel (the
 * preferences module), except `security` by email: those mails (password, MFA, new device,
 * suspension) are always sent.
 */
export const NOTIFICATION_TOPICS = ["security", "account", "kyc", "trading", "marketing"] as const;
export type NotificationTopic = (typeof NOTIFICATION_TOPICS)[number];
/** The topic whose emails no preference stops. */
export const ALWAYS_EMAILED_TOPIC = "security" satisfies NotificationTopic;

/**
 * A template's topic: one of a person's topics, or `staff` for messages to the service's own
 * mailboxes (KYC_COMPLIANCE_EMAIL), which are nobody's preference and always sent.
 */
export type TemplateTopic = NotificationTopic | "staff";

export interface NotificationTemplateDeclaration {
  /** What the message says and its params (the notification service renders it). */
  readonly description: string;
  readonly topic: TemplateTopic;
}

/** Templates of the `notifications` queue (contract) as their owner declares them, by name. */
export type NotificationTemplates = Readonly<Record<string, NotificationTemplateDeclaration>>;

/** Every template a module declares (src/modules/declarations.ts merges them). */
export type NotificationTemplate = keyof typeof notificationTemplates & string;

/** Job data on `notifications`: one message to one person (by email: every template is a mail). */
export interface Notification {
  to: string;
  template: NotificationTemplate;
  locale: string;
  params: Record<string, string>;
}

/** A queued notification a screen may stop: its outbox id, recipient and topic (never `security` or `staff`). */
export interface ScreenedNotification {
  id: string;
  to: string;
  template: string;
  topic: Exclude<NotificationTopic, typeof ALWAYS_EMAILED_TOPIC>;
}

/**
 * Decides, at delivery and inside the relay's transaction, which notifications not to send: their
 * outbox ids, each with why (recorded on the row). Anything it does not name is sent.
 */
export type NotificationScreen = (notifications: readonly ScreenedNotification[], query: Query) => Promise<Map<string, string>>;
