import { Writable } from "node:stream";
import { BackgroundTasks } from "../../src/platform/background-tasks";
import { createLogger } from "../../src/platform/logging/logger";

it("runs work without waiting for it, logs a failure, and drain waits for everything still running", async () => {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(...chunk.toString().split("\n").filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>));
      done();
    },
  });
  const tasks = new BackgroundTasks(createLogger({ level: "info", destination }));
  const finished: string[] = [];
  await tasks.run("slow", async () => {
    await new Promise((r) => setTimeout(r, 50));
    // Work started by running work is waited for too.
    await tasks.run("late", async () => {
      await new Promise((r) => setTimeout(r, 20));
      finished.push("late");
    });
    finished.push("slow");
  });
  await tasks.run("broken", () => Promise.reject(new Error("lookup failed")));
  expect(finished).toEqual([]);
  await tasks.drain();
  expect(finished).toEqual(["slow", "late"]);
  expect(lines).toEqual([expect.objectContaining({ msg: "background task failed", task: "broken", err: expect.objectContaining({ message: "lookup failed" }) })]);
});

it("beyond its limit, makes the caller wait for its own task (backpressure)", async () => {
  const tasks = new BackgroundTasks(createLogger({ level: "silent" }), 2);
  const gates: (() => void)[] = [];
  const gated = () => new Promise<void>((resolve) => gates.push(resolve));
  await tasks.run("a", gated);
  await tasks.run("b", gated);
  let thirdReturned = false;
  const third = tasks.run("c", gated).then(() => (thirdReturned = true));
  await new Promise((r) => setTimeout(r, 20));
  expect(thirdReturned).toBe(false);
  gates[2]?.();
  await third;
  expect(thirdReturned).toBe(true);
  for (const open of gates) open();
  await tasks.drain();
});
