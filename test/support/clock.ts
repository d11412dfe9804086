import type { Clock } from "../../src/platform/clock";

/** The system clock moved forward by `offsetMs`, which a test sets; the database's own now() is only used for ordering, never for expiry. */
export interface MovableClock extends Clock {
  offsetMs: number;
}

export function movableClock(): MovableClock {
  const clock: MovableClock = { offsetMs: 0, now: () => new Date(Date.now() + clock.offsetMs) };
  return clock;
}
