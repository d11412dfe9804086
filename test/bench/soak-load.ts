// The soak's load generator, a child process of soak.ts (so it never shares the service's event
// loop): WORKERS people at once, each in a loop registering an account, then logging in as a known
// user, reading `me` and `_entities`, updating the profile, refreshing twice and logging out; every
// answer is checked. It reports its counts to the parent once a minute and when told to stop.
import { randomUUID } from "node:crypto";

export interface SoakSpec {
  url: string;
  emails: string[];
  userIds: string[];
  password: string;
  workers: number;
  /** Pause between two requests of one worker (keeps the load steady, below saturation). */
  thinkMs: number;
}

export interface SoakCounts {
  requests: Record<string, number>;
  errors: number;
  /** The first few errors, for the report. */
  samples: string[];
}

const OPERATIONS = {
  register: "mutation Register($input: RegisterInput!) { register(input: $input) { status } }",
  login: "mutation Login($input: LoginInput!) { login(input: $input) { __typename ... on AuthPayload { accessToken refreshToken } } }",
  me: "query Me { me { id email displayName roles mfaEnabled } }",
  entities: "query UserEntities($representations: [_Any!]!) { _entities(representations: $representations) { ... on User { id displayName avatarUrl } } }",
  updateProfile: "mutation UpdateProfile($input: UpdateProfileInput!) { updateProfile(input: $input) { id name } }",
  refresh: "mutation RefreshTokens($refreshToken: String!) { refreshTokens(refreshToken: $refreshToken) { accessToken refreshToken } }",
  logout: "mutation Logout($allDevices: Boolean) { logout(allDevices: $allDevices) }",
} as const;

type Kind = keyof typeof OPERATIONS;
type Data = Record<string, unknown>;

let counts: SoakCounts = { requests: {}, errors: 0, samples: [] };
let stopping = false;
let addresses = 0;

/** A client address of its own per request (behind the trusted proxy), so the per-address limits never refuse the soak. */
const nextAddress = () => {
  const n = addresses++;
  return `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`;
};

async function call(spec: SoakSpec, kind: Kind, variables: Data, token?: string): Promise<Data | null> {
  counts.requests[kind] = (counts.requests[kind] ?? 0) + 1;
  try {
    const res = await fetch(spec.url, {
      method: "POST",
      headers: { "content-type": "application/json", "x-forwarded-for": nextAddress(), ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify({ query: OPERATIONS[kind], variables }),
    });
    const body = (await res.json()) as { data?: Data; errors?: { message: string }[] };
    if (res.status !== 200 || body.errors || !body.data) throw new Error(`${res.status} ${JSON.stringify(body.errors ?? body).slice(0, 200)}`);
    return body.data;
  } catch (error) {
    counts.errors += 1;
    if (counts.samples.length < 5) counts.samples.push(`${kind}: ${(error as Error).message}`);
    return null;
  }
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** One person's visit; stops at the first failed step (it is counted). */
async function visit(spec: SoakSpec, worker: number, round: number): Promise<void> {
  const step = async (kind: Kind, variables: Data, token?: string) => {
    await pause(spec.thinkMs);
    return call(spec, kind, variables, token);
  };
  const newEmail = `soak-${randomUUID()}@example.test`;
  if (!(await step("register", { input: { email: newEmail, password: spec.password, name: "Soak Tester" } }))) return;
  const email = spec.emails[(worker * 7919 + round) % spec.emails.length] as string;
  const login = (await step("login", { input: { email, password: spec.password, deviceName: "soak" } }))?.login as { accessToken?: string; refreshToken?: string } | undefined;
  if (!login?.accessToken || !login.refreshToken) return;
  let { accessToken, refreshToken } = login as { accessToken: string; refreshToken: string };
  for (let i = 0; i < 3; i += 1) if (!(await step("me", {}, accessToken))) return;
  const ids = Array.from({ length: 5 }, (_, i) => spec.userIds[(round * 5 + i) % spec.userIds.length]);
  if (!(await step("entities", { representations: ids.map((id) => ({ __typename: "User", id })) }))) return;
  if (!(await step("updateProfile", { input: { name: `Soak ${round}` } }, accessToken))) return;
  for (let i = 0; i < 2; i += 1) {
    const rotated = (await step("refresh", { refreshToken }))?.refreshTokens as { accessToken: string; refreshToken: string } | undefined;
    if (!rotated) return;
    ({ accessToken, refreshToken } = rotated);
  }
  if (!(await step("me", {}, accessToken))) return;
  await step("logout", { allDevices: false }, accessToken);
}

async function run(spec: SoakSpec): Promise<void> {
  await Promise.all(
    Array.from({ length: spec.workers }, async (_, worker) => {
      for (let round = 0; !stopping; round += 1) await visit(spec, worker, round);
    }),
  );
}

/** Hands the counts since the last report to the parent. */
function report(final: boolean): void {
  process.send?.({ counts, final });
  counts = { requests: {}, errors: 0, samples: [] };
}

if (require.main === module) {
  let finished: Promise<void> | undefined;
  process.on("message", (message: { start?: SoakSpec; report?: true; stop?: true }) => {
    if (message.start) finished = run(message.start);
    if (message.report) report(false);
    if (message.stop) {
      stopping = true;
      void finished?.then(() => {
        report(true);
        process.disconnect();
      });
    }
  });
}
