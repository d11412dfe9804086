import { z } from "zod";
import { eventCatalogue } from "../../modules/declarations";

/** One event type: its version, aggregate, payload schema and when it is emitted. */
export interface EventDefinition {
  readonly version: number;
  readonly aggregateType: string;
  readonly emittedWhen: string;
  readonly payload: z.ZodType;
}

/**
 * Domain events as their owner (a module, the platform) declares them, by type (dotted, lowercase).
 * Publishing is checked against the merged catalogue (src/modules/declarations.ts) at compile time
 * (the payload type) and at run time (the schema). A changed payload is a new version: add an entry,
 * keep the old one while consumers migrate. README.md's event list is rendered from the merged
 * catalogue (a test keeps it in step).
 */
export type EventCatalogue = Readonly<Record<string, EventDefinition>>;

export type EventType = keyof typeof eventCatalogue & string;
export type EventPayload<T extends EventType> = z.infer<(typeof eventCatalogue)[T]["payload"]>;

/** The envelope of every event on `user-events` (job data), as the contract describes it. */
export interface EventEnvelope<T extends EventType = EventType> {
  id: string;
  type: T;
  version: number;
  occurredAt: string;
  aggregateType: string;
  aggregateId: string;
  actorId: string | null;
  data: EventPayload<T>;
}

export class InvalidEventError extends Error {
  override name = "InvalidEventError";
}

/** Validates a payload against its catalogue entry; throws InvalidEventError naming the problems. */
export function validatePayload<T extends EventType>(type: T, data: unknown): EventPayload<T> {
  const entry: EventDefinition | undefined = eventCatalogue[type];
  if (!entry) throw new InvalidEventError(`Unknown event type "${String(type)}"`);
  const result = entry.payload.safeParse(data);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => `${issue.path.join(".") || "(payload)"}: ${issue.message}`).join("; ");
    throw new InvalidEventError(`Invalid payload for ${type} v${entry.version}: ${problems}`);
  }
  return result.data as EventPayload<T>;
}

/** Markdown listing every event, its version, aggregate, payload fields and when it is emitted. */
export function renderCatalogue(): string {
  const lines = ["| Event | Version | Aggregate | Payload (`data`) | Emitted when |", "| --- | --- | --- | --- | --- |"];
  for (const [type, entry] of Object.entries(eventCatalogue)) {
    const schema = z.toJSONSchema(entry.payload) as { properties?: Record<string, { type?: string; format?: string }>; required?: string[] };
    const fields = Object.entries(schema.properties ?? {})
      .map(([name, p]) => `\`${name}${schema.required?.includes(name) ? "" : "?"}: ${p.format ?? p.type ?? "json"}\``)
      .join(", ");
    lines.push(`| \`${type}\` | ${entry.version} | ${entry.aggregateType} | ${fields} | ${entry.emittedWhen} |`);
  }
  return lines.join("\n");
}
