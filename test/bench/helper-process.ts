// A benchmark's helper process (clients, a bare server): forked with the TypeScript loader and
// asked one question at a time over IPC, so that it never shares the measured event loop.
import { fork, type ChildProcess } from "node:child_process";

interface Failure {
  error: string;
}

const isFailure = (answer: unknown): answer is Failure => typeof answer === "object" && answer !== null && "error" in answer;

export class HelperProcess {
  private readonly child: ChildProcess;
  private waiting: { resolve(answer: unknown): void; reject(error: Error): void } | null = null;
  private gone: string | null = null;

  /** Forks `file` (which calls `answerQuestions`); `name` names it in errors. */
  constructor(
    file: string,
    private readonly name: string,
  ) {
    // Advanced serialization: answers carry large arrays (receive times), cheaper than JSON.
    this.child = fork(file, [], { execArgv: ["-r", "@swc-node/register"], stdio: ["ignore", "inherit", "inherit", "ipc"], serialization: "advanced" });
    this.child.on("message", (answer: unknown) => {
      const waiting = this.waiting;
      this.waiting = null;
      if (isFailure(answer)) waiting?.reject(new Error(`${name}: ${answer.error}`));
      else waiting?.resolve(answer);
    });
    this.child.once("exit", (code, signal) => {
      this.gone = `${name} exited (${signal ?? code})`;
      this.waiting?.reject(new Error(this.gone));
      this.waiting = null;
    });
  }

  /** Sends `question`; resolves with the answer, rejects on the helper's error, its exit or after `timeoutMs`. */
  ask<T>(question: object, timeoutMs: number): Promise<T> {
    if (this.gone) return Promise.reject(new Error(this.gone));
    if (this.waiting) return Promise.reject(new Error(`${this.name} is asked twice at once`));
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting = null;
        reject(new Error(`${this.name} did not answer ${JSON.stringify(question).slice(0, 80)} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiting = {
        resolve: (answer) => {
          clearTimeout(timer);
          resolve(answer as T);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      };
      this.child.send(question);
    });
  }

  /** Ends the helper at once (SIGKILL) unless it already exited; safe to call twice. */
  kill(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill("SIGKILL");
  }
}

/** The helper's side: answers each question with `answer`'s result or `{ error }`; exits when the parent goes away. */
export function answerQuestions<Q>(answer: (question: Q) => Promise<unknown>): void {
  process.on("message", (question) => {
    answer(question as Q).then(
      (result) => process.send?.(result ?? {}),
      (error: unknown) => process.send?.({ error: error instanceof Error ? error.message : String(error) }),
    );
  });
  process.on("disconnect", () => process.exit(0));
}
