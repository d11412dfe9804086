import { execFile, execFileSync, spawn, type ChildProcess } from "node:child_process";
import { createServer } from "node:net";
import path from "node:path";
import { promisify } from "node:util";
import { REDIS_URL } from "./env";

const ROOT = path.resolve(__dirname, "../..");

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export interface ServerProcess {
  child: ChildProcess;
  /** stdout and stderr so far. */
  output(): string;
  /** Resolves when the output matches `pattern`; rejects with the output on exit or timeout. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<void>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** `npm run <tool> -- <args>` (src/cli/<file>.ts) against the database at `databaseUrl`: its output, or its failure (code, stderr). */
export async function runCliTool(file: string, databaseUrl: string, args: string[], env: Record<string, string> = {}): Promise<string> {
  const { stdout } = await promisify(execFile)(process.execPath, ["-r", "@swc-node/register", `src/cli/${file}.ts`, ...args], {
    cwd: ROOT,
    env: { ...process.env, DATABASE_URL: databaseUrl, REDIS_URL, LOG_LEVEL: "warn", ...env },
  });
  return stdout;
}

/** Starts `script` (by default the real entry point, src/main.ts) as a child process with only the given environment. */
export function spawnServer(env: Record<string, string>, script = "src/main.ts"): ServerProcess {
  return spawnWatched(process.execPath, ["-r", "@swc-node/register", script], env);
}

/** `npm start` as a process manager runs it: the build (prestart), then the service. */
export function spawnNpmStart(env: Record<string, string>): ServerProcess {
  return spawnWatched("npm", ["start"], env);
}

/** The processes below `pid` (children, their children, ...), from ps. */
export function descendants(pid: number): number[] {
  const rows = execFileSync("ps", ["-eo", "pid=,ppid="], { encoding: "utf8" })
    .trim()
    .split("\n")
    .map((line) => line.trim().split(/\s+/).map(Number) as [number, number]);
  const found: number[] = [];
  for (let i = -1; i < found.length; i += 1) {
    const parent = i < 0 ? pid : found[i];
    for (const [child, ppid] of rows) if (ppid === parent) found.push(child);
  }
  return found;
}

/** Whether `pid` is a running process (a zombie, exited but not yet reaped, is not). */
export function isRunning(pid: number): boolean {
  try {
    return !execFileSync("ps", ["-o", "stat=", "-p", String(pid)], { encoding: "utf8" }).trim().startsWith("Z");
  } catch {
    return false; // ps exits 1 when there is no such process
  }
}

function spawnWatched(command: string, args: string[], env: Record<string, string>): ServerProcess {
  const child = spawn(command, args, {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  const listeners = new Set<() => void>();
  const append = (chunk: Buffer) => {
    output += chunk.toString();
    for (const listener of listeners) listener();
  };
  child.stdout?.on("data", append);
  child.stderr?.on("data", append);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on("exit", (code, signal) => resolve({ code, signal })));
  return {
    child,
    output: () => output,
    exited,
    waitFor(pattern, timeoutMs = 20_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (pattern.test(output)) {
            cleanup();
            resolve();
          }
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`timed out waiting for ${pattern}; output:\n${output}`));
        }, timeoutMs);
        const cleanup = () => {
          clearTimeout(timer);
          listeners.delete(check);
        };
        listeners.add(check);
        void exited.then(() => {
          if (!pattern.test(output)) {
            cleanup();
            reject(new Error(`process exited before ${pattern}; output:\n${output}`));
          }
        });
        check();
      });
    },
  };
}
