import { createHash } from "node:crypto";
import { createRequire } from "node:module";
import type * as Cedar from "@cedar-policy/cedar-wasm/nodejs";

let loaded: typeof Cedar | undefined;
/**
 * Cedar's WebAssembly, loaded on first use (about 15 MB of RSS): a deployment without policies, and
 * a request no policy covers, never need it.
 */
const cedar = (): typeof Cedar => (loaded ??= createRequire(__filename)("@cedar-policy/cedar-wasm/nodejs") as typeof Cedar);

/** A stored policy, as the decision engine needs it. */
export interface StoredPolicy {
  id: string;
  name: string;
  effect: "ALLOW" | "DENY";
  subjects: readonly string[];
  actions: readonly string[];
  resources: readonly string[];
  condition: string | null;
}

/** Who asks, what for, on what: the request a policy set is evaluated for. */
export interface CedarRequest {
  principal: { kind: "user" | "client"; id: string; roles: readonly string[]; emailVerified: boolean; kycStatus: string; mfaAge?: number };
  permission: string;
  resource: { type: string; id?: string; ownerId?: string; attributes: Record<string, unknown> };
  context: { ip?: string; country?: string; time: number; input: Record<string, unknown> };
}

/** What the policies say: the first policy (by name) that decided, or none. Errors of a DENY deny (fail closed). */
export type PolicyVerdict = { effect: "DENY"; policy: string; failed: boolean } | { effect: "ALLOW"; policy: string } | null;

export class PolicyConditionError extends Error {}

const record = (attributes: Record<string, unknown>) => ({ type: "Record", attributes });
const str = (required = true) => ({ type: "String", required });
const long = (required = true) => ({ type: "Long", required });

/** The attributes a condition may use (the contract's list), plus `ref` ("type:id") that resource patterns match. */
function schemaFor(resourceAttributes: Record<string, unknown>, inputAttributes: Record<string, unknown>): Cedar.Schema {
  return {
    "": {
      entityTypes: {
        Principal: {
          shape: record({
            id: str(),
            kind: str(),
            roles: { type: "Set", element: { type: "String" } },
            emailVerified: { type: "Boolean" },
            kycStatus: str(),
            mfaAge: long(false),
          }),
        },
        Resource: { shape: record({ type: str(), ref: str(), id: str(false), ownerId: str(false), attributes: record(resourceAttributes) }) },
      },
      actions: {
        check: {
          appliesTo: {
            principalTypes: ["Principal"],
            resourceTypes: ["Resource"],
            context: record({ permission: str(), ip: str(false), country: str(false), time: long(), input: record(inputAttributes) }),
          },
        },
      },
    },
  } as unknown as Cedar.Schema;
}

type Est = unknown;
const FREE_FORM: Record<string, string> = { resource: "attributes", context: "input" };

/**
 * The attributes a condition reads of the free-form records (`resource.attributes`,
 * `context.input`), each typed by how it is used (compared with a number: Long; a string:
 * String; as a condition: Boolean), so that the schema can check the rest of the expression.
 */
function freeFormAttributes(body: Est): { resource: Record<string, unknown>; context: Record<string, unknown> } {
  const found = { resource: {} as Record<string, unknown>, context: {} as Record<string, unknown> };
  // Attributes only tested with `has`: typed last, so that a use elsewhere decides their type.
  const tested: { owner: "resource" | "context"; attr: string }[] = [];
  const access = (node: Est): { owner: "resource" | "context"; attr: string } | null => {
    const dot = (node as { ".": { left: Est; attr: string } })?.["."];
    const inner = (dot?.left as { ".": { left: { Var?: string }; attr: string } })?.["."];
    const owner = inner?.left?.Var;
    return owner && (owner === "resource" || owner === "context") && inner.attr === FREE_FORM[owner] ? { owner, attr: dot.attr } : null;
  };
  const note = (node: Est, type: string) => {
    const hit = access(node);
    if (hit && !found[hit.owner][hit.attr]) found[hit.owner][hit.attr] = { type };
  };
  const typeOf = (value: unknown) => (typeof value === "number" ? "Long" : typeof value === "boolean" ? "Boolean" : "String");
  const walk = (node: Est, asCondition: boolean): void => {
    if (node === null || typeof node !== "object") return;
    if (asCondition) note(node, "Boolean");
    for (const [op, args] of Object.entries(node as Record<string, unknown>)) {
      const { left, right, arg, attr } = (args ?? {}) as { left?: Est; right?: Est; arg?: Est; attr?: string };
      if (["<", "<=", ">", ">=", "+", "-", "*"].includes(op)) [left, right].forEach((side) => note(side, "Long"));
      if (op === "==" || op === "!=") {
        const other = (side: Est) => (side as { Value?: unknown })?.Value;
        if (other(right) !== undefined) note(left, typeOf(other(right)));
        if (other(left) !== undefined) note(right, typeOf(other(left)));
      }
      if (op === "like") note((args as { left?: Est }).left, "String");
      if (op === "has" && left) {
        const owner = (left as { ".": { left: { Var?: string }; attr: string } })?.["."];
        const name = owner?.left?.Var;
        if ((name === "resource" || name === "context") && owner?.attr === FREE_FORM[name] && attr) tested.push({ owner: name, attr });
      }
      const logical = op === "&&" || op === "||" || op === "!";
      for (const child of [left, right, arg, ...(Array.isArray(args) ? args : [])]) walk(child, logical);
      if (op === "if-then-else") {
        const { if: cond, then, else: otherwise } = args as { if: Est; then: Est; else: Est };
        walk(cond, true);
        walk(then, false);
        walk(otherwise, false);
      }
    }
  };
  walk(body, true);
  for (const { owner, attr } of tested) found[owner][attr] ??= { type: "String" };
  return found;
}

const quote = (value: string) => JSON.stringify(value);

/** The Cedar expression of a policy's subjects, actions and resources (patterns with `*`). */
function scope(policy: StoredPolicy): string {
  const subject = (s: string) => {
    if (s === "*") return "true";
    const [kind, ...rest] = s.split(":");
    const id = rest.join(":");
    if (kind === "role") return `principal.roles.contains(${quote(id)})`;
    return `(principal.kind == ${quote(kind === "client" ? "client" : "user")} && principal.id == ${quote(id)})`;
  };
  const any = (parts: string[]) => (parts.length === 0 ? "true" : `(${parts.join(" || ")})`);
  const subjects = any(policy.subjects.map(subject));
  const actions = any(policy.actions.map((a) => `context.permission like ${quote(a)}`));
  // `<type>` covers every resource of that type; `<type>:<id pattern>` those ids.
  const resources = any(policy.resources.map((r) => (r.includes(":") ? `resource.ref like ${quote(r)}` : `resource.type == ${quote(r)}`)));
  return `${subjects} && ${actions} && ${resources}`;
}

/** The Cedar text of one stored policy: a permit (ALLOW) or forbid (DENY) with its scope and condition. */
function policyText(policy: StoredPolicy): string {
  const condition = policy.condition?.trim() ? ` && (${policy.condition})` : "";
  return `${policy.effect === "ALLOW" ? "permit" : "forbid"} (principal, action == Action::"check", resource)\nwhen { ${scope(policy)}${condition} };`;
}

/** A `*` pattern (Cedar's `like`) as a test. */
const like = (pattern: string) => new RegExp(`^${pattern.split("*").map((part) => part.replace(/[.+?^${}()|[\]\\]/g, "\\$&")).join(".*")}$`);

/** The scope of `policyText`, in TypeScript: whether a policy could apply to a request at all. */
function scopeTest(policy: StoredPolicy): (request: CedarRequest, ref: string) => boolean {
  const subjects = policy.subjects.map((s) => {
    if (s === "*") return () => true;
    const [kind, ...rest] = s.split(":");
    const id = rest.join(":");
    if (kind === "role") return (r: CedarRequest) => r.principal.roles.includes(id);
    return (r: CedarRequest) => r.principal.kind === (kind === "client" ? "client" : "user") && r.principal.id === id;
  });
  const actions = policy.actions.map(like);
  const resources = policy.resources.map((r) => {
    if (!r.includes(":")) return (request: CedarRequest) => request.resource.type === r;
    const pattern = like(r);
    return (_request: CedarRequest, ref: string) => pattern.test(ref);
  });
  return (request, ref) =>
    (subjects.length === 0 || subjects.some((test) => test(request))) &&
    (actions.length === 0 || actions.some((a) => a.test(request.permission))) &&
    (resources.length === 0 || resources.some((test) => test(request, ref)));
}

const messages = (errors: { message: string }[]) => errors.map((e) => e.message).join("; ");

/**
 * Checks a new policy before it is stored: its condition must parse as the body of a Cedar
 * `when { … }` and type-check against the schema of the attributes the contract lists. Throws
 * PolicyConditionError with Cedar's message.
 */
export function validatePolicy(policy: StoredPolicy): void {
  // The condition alone first, as the whole body of one `when`: it must be one balanced expression,
  // so that it cannot close the clause it is put in and widen the policy's scope.
  const alone = policy.condition ? cedar().policyToJson(`permit (principal, action, resource) when { ${policy.condition} };`) : null;
  if (alone?.type === "failure") throw new PolicyConditionError(messages(alone.errors));
  const clauses = alone ? ((alone.json as { conditions?: { kind: string; body: Est }[] }).conditions ?? []) : [];
  if (alone && (clauses.length !== 1 || clauses[0]?.kind !== "when")) throw new PolicyConditionError("must be one expression (the body of a single when clause)");
  const text = policyText(policy);
  const parsed = cedar().policyToJson(text);
  if (parsed.type === "failure") throw new PolicyConditionError(messages(parsed.errors));
  const attributes = freeFormAttributes(clauses[0]?.body);
  const answer = cedar().validate({ schema: schemaFor(attributes.resource, attributes.context), policies: { staticPolicies: text } });
  if (answer.type === "failure") throw new PolicyConditionError(messages(answer.errors));
  if (answer.validationErrors.length > 0) throw new PolicyConditionError(messages(answer.validationErrors.map((e) => e.error)));
}

let nextSetId = 0;
const VERDICT_CACHE_SIZE = 10_000;

/** The stored policies, parsed once into Cedar (per version of the set); evaluated in-process. */
export class CedarPolicySet {
  /** Cedar keeps preparsed sets by id, process-wide: one id per set (several apps may share a process). */
  private readonly setId = `policies-${(nextSetId += 1)}`;
  private readonly names: Map<string, string>;
  private readonly denies: Set<string>;
  private readonly scopes: ((request: CedarRequest, ref: string) => boolean)[];
  /** Verdicts by request, while this set is the current one; none kept when a condition reads the time or the MFA age. */
  private readonly verdicts = new Map<string, PolicyVerdict>();
  private readonly volatile: boolean;

  constructor(policies: readonly StoredPolicy[]) {
    // Any mention, whatever the syntax (`context.time`, `context["time"]`): such verdicts change by themselves.
    this.volatile = policies.some((p) => /time|mfaAge/.test(p.condition ?? ""));
    this.names = new Map(policies.map((p) => [p.id, p.name]));
    this.scopes = policies.map(scopeTest);
    this.denies = new Set(policies.filter((p) => p.effect === "DENY").map((p) => p.id));
    if (policies.length === 0) return;
    const parsed = cedar().preparsePolicySet(this.setId, { staticPolicies: Object.fromEntries(policies.map((p) => [p.id, policyText(p)])) });
    if (parsed.type === "failure") throw new Error(`the stored policies do not parse: ${messages(parsed.errors)}`);
  }

  /** What the policies say of `request`; throws when Cedar cannot evaluate at all (the caller denies). */
  evaluate(request: CedarRequest): PolicyVerdict {
    const { principal, resource, context } = request;
    const ref = resource.id === undefined ? resource.type : `${resource.type}:${resource.id}`;
    // Cedar is asked only when a policy's subjects, actions and resources cover the request (the same test it makes).
    if (!this.scopes.some((covers) => covers(request, ref))) return null;
    const key = this.volatile ? null : createHash("sha256").update(JSON.stringify([principal, request.permission, resource, context.input, context.ip, context.country])).digest("base64");
    if (key !== null && this.verdicts.has(key)) return this.verdicts.get(key) ?? null;
    const verdict = this.cedarVerdict(request, ref);
    if (key !== null) {
      if (this.verdicts.size >= VERDICT_CACHE_SIZE) this.verdicts.delete(this.verdicts.keys().next().value as string);
      this.verdicts.set(key, verdict);
    }
    return verdict;
  }

  private cedarVerdict(request: CedarRequest, ref: string): PolicyVerdict {
    const { principal, resource, context } = request;
    const principalAttrs = { id: principal.id, kind: principal.kind, roles: [...principal.roles], emailVerified: principal.emailVerified, kycStatus: principal.kycStatus, ...(principal.mfaAge === undefined ? {} : { mfaAge: principal.mfaAge }) };
    const resourceAttrs = { type: resource.type, ref, attributes: resource.attributes, ...(resource.id === undefined ? {} : { id: resource.id }), ...(resource.ownerId === undefined ? {} : { ownerId: resource.ownerId }) };
    const answer = cedar().statefulIsAuthorized({
      principal: { type: "Principal", id: principal.id },
      action: { type: "Action", id: "check" },
      resource: { type: "Resource", id: ref },
      context: { permission: request.permission, time: context.time, input: context.input, ...(context.ip ? { ip: context.ip } : {}), ...(context.country ? { country: context.country } : {}) } as Cedar.Context,
      preparsedPolicySetId: this.setId,
      entities: [
        { uid: { type: "Principal", id: principal.id }, attrs: principalAttrs as Record<string, Cedar.CedarValueJson>, parents: [] },
        { uid: { type: "Resource", id: ref }, attrs: resourceAttrs as Record<string, Cedar.CedarValueJson>, parents: [] },
      ],
    });
    if (answer.type === "failure") throw new Error(`policy evaluation failed: ${messages(answer.errors)}`);
    const { decision, diagnostics } = answer.response;
    const name = (id: string) => this.names.get(id) ?? id;
    // A DENY whose condition could not be evaluated applies (fail closed); an ALLOW's does not.
    const failedDeny = diagnostics.errors.map((e) => e.policyId).find((id) => this.denies.has(id));
    if (failedDeny) return { effect: "DENY", policy: name(failedDeny), failed: true };
    const [decider] = diagnostics.reason.map(name).sort();
    if (!decider) return null;
    return decision === "deny" ? { effect: "DENY", policy: decider, failed: false } : { effect: "ALLOW", policy: decider };
  }
}
