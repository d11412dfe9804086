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
  tasks.run("slow", async () => {
    await new Promise((r) => setTimeout(r, 50));
    // Work started by running work is waited for too.
    tasks.run("late", async () => {
      await new Promise((r) => setTimeout(r, 20));
      finished.push("late");
    });
    finished.push("slow");
  });
  tasks.run("broken", () => Promise.reject(new Error("lookup failed")));
  expect(finished).toEqual([]);
  await tasks.drain();
  expect(finished).toEqual(["slow", "late"]);
  expect(lines).toEqual([expect.objectContaining({ msg: "background task failed", task: "broken", err: expect.objectContaining({ message: "lookup failed" }) })]);
});
