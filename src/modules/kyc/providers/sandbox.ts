import { randomUUID } from "node:crypto";
import type { Clock } from "../../../platform/clock";
import type { Prisma } from "../../../platform/db/database";
import type { ApplicantRequest, KycCall, KycProvider, ProviderDocument, ProviderRef, ProviderVerdict } from "./provider";
import { WebhookSignatureError } from "./provider";

/** The contract's marker: a verification whose documents contain this ASCII text is rejected. */
export const SANDBOX_REJECT_MARKER = Buffer.from("SANDBOX-REJECT", "ascii");

/**
 * The SANDBOX provider (contract): in-process, it decides `delayMs` after the check is requested:
 * REJECTED when any document of the attempt contains SANDBOX-REJECT, APPROVED otherwise. Its
 * applicants are rows of its own table (one per attempt, keyed by its reference), so whichever
 * instance runs the next job sees them.
 */
export class SandboxProvider implements KycProvider {
  readonly name = "SANDBOX" as const;
  /** An upload counts the documents: the rest is keyed or only reads. */
  readonly idempotent: ReadonlySet<KycCall> = new Set(["createApplicant", "requestCheck", "getStatus"]);

  constructor(
    private readonly prisma: Prisma,
    private readonly clock: Clock,
    private readonly delayMs: number,
  ) {}

  async createApplicant(request: ApplicantRequest): Promise<ProviderRef> {
    await this.prisma.kycSandboxApplicant.createMany({ data: [{ applicantId: randomUUID(), reference: request.reference }], skipDuplicates: true });
    const row = await this.prisma.kycSandboxApplicant.findUniqueOrThrow({ where: { reference: request.reference } });
    return { applicantId: row.applicantId, checkId: null };
  }

  async uploadDocument(ref: ProviderRef, document: ProviderDocument): Promise<void> {
    const reject = document.content.includes(SANDBOX_REJECT_MARKER);
    await this.prisma.kycSandboxApplicant.update({ where: { applicantId: ref.applicantId }, data: { documents: { increment: 1 }, ...(reject ? { reject: true } : {}) } });
  }

  async requestCheck(ref: ProviderRef): Promise<ProviderRef> {
    const applicant = await this.prisma.kycSandboxApplicant.findUniqueOrThrow({ where: { applicantId: ref.applicantId } });
    if (applicant.documents === 0) throw new Error("SANDBOX: a check needs at least one document");
    await this.prisma.kycSandboxApplicant.update({ where: { applicantId: ref.applicantId }, data: { checkRequestedAt: this.clock.now() } });
    return ref;
  }

  async getStatus(ref: ProviderRef): Promise<ProviderVerdict> {
    const applicant = await this.prisma.kycSandboxApplicant.findUniqueOrThrow({ where: { applicantId: ref.applicantId } });
    const now = this.clock.now().getTime();
    const decidesAt = applicant.checkRequestedAt ? applicant.checkRequestedAt.getTime() + this.delayMs : null;
    if (decidesAt === null || decidesAt > now) return { status: "IN_REVIEW", reason: null, occurredAt: applicant.checkRequestedAt?.getTime() ?? now, risk: null };
    return applicant.reject
      ? { status: "REJECTED", reason: "A document failed the sandbox's check (it contains SANDBOX-REJECT)", occurredAt: decidesAt, risk: { score: 100, labels: ["SANDBOX_REJECT"] } }
      : { status: "APPROVED", reason: null, occurredAt: decidesAt, risk: null };
  }

  parseWebhook(): never {
    throw new WebhookSignatureError("the SANDBOX provider sends no webhooks");
  }
}
