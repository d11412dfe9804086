import { KYC_STATUSES, type KycStatus } from "../../src/modules/kyc/kyc.model";
import { IllegalTransition, acceptsDocuments, nextStatus, type KycTransition } from "../../src/modules/kyc/kyc.state";

const DECISIONS = ["APPROVED", "REJECTED", "RESUBMISSION_REQUIRED"] as const;

describe("the verification state machine", () => {
  it("PENDING → IN_REVIEW → a decision; RESUBMISSION_REQUIRED → IN_REVIEW again", () => {
    expect(nextStatus("PENDING", { by: "user", action: "submit" })).toBe("IN_REVIEW");
    for (const to of DECISIONS) {
      expect(nextStatus("IN_REVIEW", { by: "provider", to })).toBe(to);
      expect(nextStatus("IN_REVIEW", { by: "reviewer", to })).toBe(to);
    }
    expect(nextStatus("RESUBMISSION_REQUIRED", { by: "user", action: "submit" })).toBe("IN_REVIEW");
  });

  it("a provider repeating IN_REVIEW changes nothing", () => {
    expect(nextStatus("IN_REVIEW", { by: "provider", to: "IN_REVIEW" })).toBeNull();
  });

  // Every move outside the diagram, by every mover: a decided verification never moves, and a
  // provider's late answer after a reviewer's decision (or a resubmission request) is refused.
  const illegal: [KycStatus, KycTransition][] = [];
  for (const from of KYC_STATUSES) {
    if (from !== "PENDING" && from !== "RESUBMISSION_REQUIRED") illegal.push([from, { by: "user", action: "submit" }]);
    if (from !== "IN_REVIEW") for (const to of DECISIONS) illegal.push([from, { by: "provider", to }], [from, { by: "reviewer", to }]);
    if (from !== "IN_REVIEW") illegal.push([from, { by: "provider", to: "IN_REVIEW" }]);
  }
  it.each(illegal)("from %s, %j is refused", (from, transition) => {
    expect(() => nextStatus(from, transition)).toThrow(IllegalTransition);
  });

  it("documents are taken while PENDING or RESUBMISSION_REQUIRED only", () => {
    expect(KYC_STATUSES.filter(acceptsDocuments)).toEqual(["PENDING", "RESUBMISSION_REQUIRED"]);
  });
});
