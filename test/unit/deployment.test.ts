import { readFileSync } from "node:fs";
import path from "node:path";

/** No Docker engine runs here: these files are checked as text, for the properties they must state. */
const read = (file: string) => readFileSync(path.resolve(__dirname, "../..", file), "utf8");
const compose = read("docker-compose.yml");

/** The lines of one service of docker-compose.yml (two-space indented under `services:`). */
function service(name: string): string {
  const match = new RegExp(`^  ${name}:\\n((?: {4}.*\\n|\\s*\\n)*)`, "m").exec(compose);
  if (!match) throw new Error(`no service ${name} in docker-compose.yml`);
  return match[1] as string;
}

/** The value of `key:` in `text` (first occurrence), unquoted. */
function value(text: string, key: string): string | undefined {
  return new RegExp(`^\\s*${key}: *"?([^"\\n]*)"?$`, "m").exec(text)?.[1];
}

describe("issue 10 item 15: docker-compose.yml", () => {
  it("runs the service as identity_app, never the superuser, and applies migrations as the owner in a job of their own before it starts", () => {
    const identity = service("identity");
    expect(value(identity, "DATABASE_URL")).toMatch(/^postgresql:\/\/identity_app:\$\{IDENTITY_APP_PASSWORD:\?[^}]*\}@postgres:5432\/identity$/);
    expect(value(identity, "MIGRATE_ON_START")).toBe("false");
    const migrate = service("migrate");
    expect(migrate).toMatch(/command: \["node", "dist\/cli\/migrate\.js"\]/);
    expect(value(migrate, "DATABASE_URL")).toMatch(/^postgresql:\/\/postgres:[^@]+@postgres:5432\/identity$/);
    expect(identity).toMatch(/ {6}migrate:\n {8}condition: service_completed_successfully/);
    // On its first start PostgreSQL runs prisma/init, which lets identity_app log in.
    expect(service("postgres")).toContain("- ./prisma/init:/docker-entrypoint-initdb.d:ro");
    expect(read("prisma/init/10-identity-app.sh")).toMatch(/ALTER ROLE identity_app LOGIN PASSWORD :'password'/);
  });

  it("trusts the router's fixed address for X-Forwarded-For, and the router passes that header on", () => {
    const router = value(service("router"), "ipv4_address");
    expect(router).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    expect(value(service("identity"), "TRUSTED_PROXIES")).toBe(router);
    // Dynamic addresses come from a range that excludes the router's.
    const range = value(compose, "ip_range") as string;
    const [base, bits] = range.split("/") as [string, string];
    const last = (ip: string) => Number(ip.split(".")[3]);
    expect(last(router as string) < last(base) || last(router as string) >= last(base) + 2 ** (32 - Number(bits))).toBe(true);
    expect(read("schema/router.yaml")).toMatch(/- propagate:\n\s+named: x-forwarded-for/);
  });
});
