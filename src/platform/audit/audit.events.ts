import { z } from "zod";
import type { EventCatalogue } from "../events/catalogue";

const sha256Hex = z.string().regex(/^[0-9a-f]{64}$/);

/** The audit chain's own event. */
export const auditChainEvents = {
  "audit.checkpoint": {
    version: 1,
    aggregateType: "audit_chain",
    emittedWhen: "The audit chain's head is signed (every AUDIT_CHECKPOINT_EVERY records); keep the latest: `audit:verify --published <seq>:<hash>` checks the chain still reaches it.",
    payload: z.object({ seq: z.number().int().positive(), hash: sha256Hex, keyId: z.string().max(64), signature: sha256Hex }).strict(),
  },
} as const satisfies EventCatalogue;
