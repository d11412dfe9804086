// npm run bench — every benchmark, each beside a baseline measured in the same run.
// BENCH=<name> runs one of them (the names below).
import "reflect-metadata";
import { benchAuth } from "./auth";
import { benchAuthz } from "./authz";
import { benchEntities } from "./entities";
import { benchEvents } from "./events";
import { benchFootprint } from "./footprint";
import { benchRefusals } from "./refusals";
import { benchSoak } from "./soak";
import { benchSubscriptions } from "./subscriptions";
import { benchTiming } from "./timing";
import { benchUnitOfWork } from "./unit-of-work";

const benches: Record<string, () => Promise<void>> = { entities: benchEntities, events: benchEvents, auth: benchAuth, authz: benchAuthz, timing: benchTiming, refusals: benchRefusals, subscriptions: benchSubscriptions, "unit-of-work": benchUnitOfWork, footprint: benchFootprint, soak: benchSoak };

async function main(): Promise<void> {
  const only = process.env.BENCH;
  if (only && !benches[only]) throw new Error(`BENCH must be one of ${Object.keys(benches).join(", ")}`);
  for (const [name, bench] of Object.entries(benches)) {
    if (only && name !== only) continue;
    process.stdout.write(`\n## ${name}\n`);
    await bench();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
