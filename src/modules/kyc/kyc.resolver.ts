import DataLoader from "dataloader";
import { Arg, Authorized, Ctx, FieldResolver, ID, Mutation, Query, Resolver, Root, Subscription } from "type-graphql";
import { signedIn } from "../../graphql/auth-checker";
import type { Context } from "../../graphql/context";
import type { LoaderFactory } from "../../graphql/loaders";
import { idArgument } from "../../shared/input-check";
import { User } from "../users";
import type { KycService } from "./kyc.service";
import { ReviewVerificationInput, StartVerificationInput, UploadVerificationDocumentInput, Verification, VerificationDocument, VerificationStatusUpdate } from "./kyc.types";

/** Where a user's status changes are published (one topic per user, so an event reaches only its watchers). */
export const kycTopic = (userId: string) => `kyc-status:${userId}`;

const REVIEWER = "perm:kyc:review";

/** The user a subscription watches: `userId` as every id argument is read (a UUID in any case, lowercased), else the caller. */
const watched = (userId: string | null | undefined, context: Context): string => (userId === undefined || userId === null ? signedIn(context).userId : idArgument("userId", userId));

@Resolver()
export class KycResolver {
  constructor(private readonly kyc: KycService) {}

  @Authorized()
  @Mutation(() => Verification, { description: "Starts a verification (PENDING); the email must be verified; one open verification per level." })
  startVerification(@Arg("input", () => StartVerificationInput, { nullable: true }) input: StartVerificationInput | null, @Ctx() context: Context): Promise<Verification> {
    return this.kyc.start(signedIn(context), input, context.origin);
  }

  @Authorized()
  @Mutation(() => VerificationDocument, { description: "Adds a document (JPEG, PNG or PDF, judged by its bytes) to a PENDING or RESUBMISSION_REQUIRED verification." })
  uploadVerificationDocument(@Arg("input", () => UploadVerificationDocumentInput) input: UploadVerificationDocumentInput, @Ctx() context: Context): Promise<VerificationDocument> {
    return this.kyc.upload(signedIn(context), input, context.origin);
  }

  @Authorized()
  @Mutation(() => Verification, { description: "Submits the verification for review (IN_REVIEW); the provider decides in the background." })
  submitVerification(@Arg("id", () => ID) id: string, @Ctx() context: Context): Promise<Verification> {
    return this.kyc.submit(signedIn(context), id, context.origin);
  }

  @Authorized()
  @Query(() => Verification, { nullable: true, description: "The caller's latest verification." })
  myVerification(@Ctx() context: Context): Promise<Verification | null> {
    return this.kyc.mine(signedIn(context));
  }

  @Authorized(REVIEWER)
  @Mutation(() => Verification, { description: "A compliance decision on a verification IN_REVIEW (kyc:review); a reason is required to reject or ask for resubmission." })
  reviewVerification(@Arg("input", () => ReviewVerificationInput) input: ReviewVerificationInput, @Ctx() context: Context): Promise<Verification> {
    return this.kyc.review(signedIn(context), input, context.origin);
  }

  // Checked before the subscription starts and for every event it delivers (SECURITY 52): the
  // caller's own changes, or another user's with kyc:review (a revoked role stops the next event).
  @Authorized("perm-unless-self:kyc:review")
  @Subscription(() => VerificationStatusUpdate, {
    topics: ({ args, context }) => kycTopic(watched((args as { userId?: string | null }).userId, context as Context)),
    description: "The caller's verification status changes; with userId, that user's (kyc:review).",
  })
  verificationStatusChanged(@Root() update: VerificationStatusUpdate, @Arg("userId", () => ID, { nullable: true }) userId: string | null, @Ctx() context: Context): VerificationStatusUpdate {
    // The topic names one user; this holds even if a message reached the wrong topic.
    if (update.userId !== watched(userId, context)) throw new Error("an update of another user reached this subscription");
    return { ...update, occurredAt: new Date(update.occurredAt) };
  }
}

/** `User.kycStatus`: the user's best decided status (NONE before any decision), for the user themself and compliance. */
@Resolver(() => User)
export class UserKycResolver {
  private readonly statuses: LoaderFactory<string, string>;

  constructor(kyc: KycService, private readonly reviewer: (context: Context) => Promise<boolean>) {
    this.statuses = () => new DataLoader((ids: readonly string[]) => kyc.kycStatusOf(ids), { maxBatchSize: 1000 });
  }

  @FieldResolver(() => String, { nullable: true, description: "NONE, APPROVED or REJECTED (the best decided level's); the user themself and kyc:review holders only." })
  async kycStatus(@Root() user: User, @Ctx() context: Context): Promise<string | null> {
    const own = context.viewer?.userId === user.id;
    if (!own && !(await this.reviewer(context))) return null;
    return context.loaders.get(this.statuses).load(user.id);
  }
}
