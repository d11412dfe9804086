import { Field, ID, InputType, ObjectType, registerEnumType } from "type-graphql";
import { DOCUMENT_TYPES, KYC_LEVELS, KYC_PROVIDERS, KYC_STATUSES, type DocumentType, type KycLevel, type KycProviderName, type KycStatus } from "./kyc.model";

const enumOf = <T extends string>(values: readonly T[]) => Object.fromEntries(values.map((v) => [v, v])) as { [K in T]: K };

export const KycProviderEnum = enumOf(KYC_PROVIDERS);
registerEnumType(KycProviderEnum, { name: "KycProvider", description: "SANDBOX decides by itself after KYC_SANDBOX_DELAY_MS (not in production unless allowed)." });
export const KycLevelEnum = enumOf(KYC_LEVELS);
registerEnumType(KycLevelEnum, { name: "KycLevel" });
export const KycStatusEnum = enumOf(KYC_STATUSES);
registerEnumType(KycStatusEnum, { name: "KycStatus", description: "PENDING (awaiting documents), IN_REVIEW (submitted), APPROVED, REJECTED, RESUBMISSION_REQUIRED (documents again, then submit)." });
export const DocumentTypeEnum = enumOf(DOCUMENT_TYPES);
registerEnumType(DocumentTypeEnum, { name: "DocumentType" });

export const KycDecisionEnum = { APPROVE: "APPROVE", REJECT: "REJECT", REQUEST_RESUBMISSION: "REQUEST_RESUBMISSION" } as const;
export type KycDecision = keyof typeof KycDecisionEnum;
registerEnumType(KycDecisionEnum, { name: "KycDecision" });

export const DocumentStatusEnum = { UPLOADED: "UPLOADED", SUBMITTED: "SUBMITTED" } as const;
export type DocumentStatus = keyof typeof DocumentStatusEnum;
registerEnumType(DocumentStatusEnum, { name: "DocumentStatus", description: "UPLOADED (stored here), SUBMITTED (sent to the provider)." });

@ObjectType({ description: "A document of a verification: its type and state, never its content or name." })
export class VerificationDocument {
  @Field(() => ID)
  id!: string;

  @Field(() => DocumentTypeEnum)
  type!: DocumentType;

  @Field(() => DocumentStatusEnum)
  status!: DocumentStatus;

  @Field({ description: "What the bytes are: image/jpeg, image/png or application/pdf." })
  contentType!: string;

  @Field()
  createdAt!: Date;
}

@ObjectType({ description: "An identity verification of a user at a level, at one provider." })
export class Verification {
  @Field(() => ID)
  id!: string;

  @Field(() => ID)
  userId!: string;

  @Field(() => KycStatusEnum)
  status!: KycStatus;

  @Field(() => KycProviderEnum, { description: "The provider deciding it (another one of KYC_FALLBACK_PROVIDERS when the first was unavailable)." })
  provider!: KycProviderName;

  @Field(() => KycLevelEnum)
  level!: KycLevel;

  @Field(() => String, { nullable: true, description: "Why it was rejected or sent back." })
  reason!: string | null;

  @Field(() => String, { nullable: true, description: "Where the user completes the provider's own flow, when it has one: Stripe Identity's hosted page." })
  providerUrl!: string | null;

  @Field(() => [VerificationDocument])
  documents!: VerificationDocument[];

  @Field()
  createdAt!: Date;

  @Field()
  updatedAt!: Date;
}

@ObjectType({ description: "A verification's status changed." })
export class VerificationStatusUpdate {
  @Field(() => ID)
  verificationId!: string;

  @Field(() => ID)
  userId!: string;

  @Field(() => KycStatusEnum)
  status!: KycStatus;

  @Field(() => String, { nullable: true })
  reason!: string | null;

  @Field()
  occurredAt!: Date;
}

@InputType()
export class StartVerificationInput {
  @Field(() => KycProviderEnum, { nullable: true, description: "Default: KYC_PROVIDER." })
  provider?: KycProviderName | null;

  @Field(() => KycLevelEnum, { nullable: true, description: "Default: BASIC." })
  level?: KycLevel | null;
}

@InputType()
export class UploadVerificationDocumentInput {
  @Field(() => ID)
  verificationId!: string;

  @Field(() => DocumentTypeEnum)
  type!: DocumentType;

  @Field({ description: "Checked for shape only; never stored or trusted." })
  fileName!: string;

  @Field({ description: "Must agree with what the bytes are (JPEG, PNG or PDF)." })
  contentType!: string;

  @Field({ description: "The file, base64; at most MAX_DOCUMENT_SIZE_MB once decoded." })
  contentBase64!: string;
}

@InputType()
export class ReviewVerificationInput {
  @Field(() => ID)
  verificationId!: string;

  @Field(() => KycDecisionEnum)
  decision!: KycDecision;

  @Field(() => String, { nullable: true, description: "Required for REJECT and REQUEST_RESUBMISSION; the user sees it." })
  reason?: string | null;
}
