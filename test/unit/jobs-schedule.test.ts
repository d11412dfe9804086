import { untilNext } from "../../src/platform/jobs/jobs";

describe("daily jobs", () => {
  it("run at the next HH:MM UTC: later today, or tomorrow once it has passed (06:00 IST is 00:30 UTC)", () => {
    expect(untilNext(new Date("2026-12-02T00:00:00Z"), 0, 30)).toBe(30 * 60_000);
    expect(untilNext(new Date("2026-12-02T00:30:00Z"), 0, 30)).toBe(86_400_000);
    expect(untilNext(new Date("2026-12-02T00:31:00Z"), 0, 30)).toBe(86_400_000 - 60_000);
    expect(untilNext(new Date("2026-12-31T23:59:00Z"), 0, 30)).toBe(31 * 60_000);
  });
});
