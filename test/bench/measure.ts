// Measuring helpers shared by the subscription benchmark's processes (the bench, its clients and its bare server).
import { readFileSync } from "node:fs";
import { monitorEventLoopDelay } from "node:perf_hooks";
import v8 from "node:v8";
import vm from "node:vm";

/**
 * Wall-clock milliseconds with sub-millisecond resolution, comparable across the processes of
 * one machine (each process's time origin is read from the same clock), unlike performance.now().
 */
export const wallClockMs = () => performance.timeOrigin + performance.now();

/** The p-th percentile of ascending `sorted` (0 when empty). */
export function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

let collect: (() => void) | undefined;

/** The process's memory after a full garbage collection (exposed at run time when node ran without --expose-gc). */
export function memoryAfterGc(): NodeJS.MemoryUsage {
  if (!collect) {
    if (!globalThis.gc) v8.setFlagsFromString("--expose-gc");
    collect = globalThis.gc ?? (vm.runInNewContext("gc") as () => void);
  }
  collect();
  collect();
  return process.memoryUsage();
}

/** The soft limit of open files of this process (and so of the children it forks), from /proc. */
export function openFilesLimit(): number {
  const line = readFileSync("/proc/self/limits", "utf8")
    .split("\n")
    .find((l) => l.startsWith("Max open files"));
  const soft = line?.split(/\s{2,}/)[1];
  return soft === undefined || soft === "unlimited" ? Number.POSITIVE_INFINITY : Number(soft);
}

/** What a process spent while it was loaded: its CPU as a share of one core, and its event loop's delay. */
export interface LoadCost {
  cpuPercent: number;
  loopP99Ms: number;
}

/** Starts watching this process's CPU and event loop; the returned function stops and reports. */
export function watchLoadCost(): () => LoadCost {
  const loop = monitorEventLoopDelay({ resolution: 5 });
  loop.enable();
  const cpu = process.cpuUsage();
  const started = performance.now();
  return () => {
    loop.disable();
    const used = process.cpuUsage(cpu);
    return { cpuPercent: ((used.user + used.system) / 1000 / (performance.now() - started)) * 100, loopP99Ms: loop.percentile(99) / 1e6 };
  };
}

/**
 * Starts `task(0)` … `task(total - 1)` at `perSecond` (open loop: a late tick catches up), never
 * more than `maxInFlight` unfinished at once; resolves with the seconds from the first start to the
 * last completion.
 */
export function pace(total: number, perSecond: number, maxInFlight: number, task: (i: number) => Promise<void>): Promise<number> {
  const started = performance.now();
  let next = 0;
  let inFlight = 0;
  return new Promise((resolve, reject) => {
    const tick = () => {
      const due = Math.min(total, Math.floor(((performance.now() - started) / 1000) * perSecond) + 1);
      while (next < due && inFlight < maxInFlight) {
        inFlight += 1;
        task(next++).then(() => {
          inFlight -= 1;
          if (next === total && inFlight === 0) resolve((performance.now() - started) / 1000);
        }, reject);
      }
      if (next < total) setTimeout(tick, 1);
    };
    if (total === 0) resolve(0);
    else tick();
  });
}
