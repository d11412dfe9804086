// The hottest operations answered without Apollo's pipeline once Apollo has validated them
// (src/graphql/remembered-operations.ts): the same answer either way, and everything else left to Apollo.
import { randomUUID } from "node:crypto";
import { print } from "graphql";
import { LogoutDocument, MeDocument, MyPreferencesDocument, RefreshTokensDocument, UserEntitiesDocument } from "../support/generated/operations";
import { bearer, useApp } from "../support/harness";
import { graphql, metricValue } from "../support/graphql";

const h = useApp();
const REMEMBERED = "graphql_remembered_operations_total";

interface Answer {
  status: number;
  contentType: string | null;
  /** Every response header but the date. */
  headers: [string, string][];
  body: string;
}

/** One POST to /graphql, as the router sends it; the request id is fixed so that error bodies compare whole. */
async function post(body: unknown, headers: Record<string, string> = {}): Promise<Answer> {
  const res = await fetch(`${h.t.baseUrl}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json", "x-request-id": "reads-test", ...headers },
    body: JSON.stringify(body),
  });
  const answered = [...res.headers].filter(([name]) => name !== "date");
  return { status: res.status, contentType: res.headers.get("content-type"), headers: answered, body: await res.text() };
}

/** The same request twice: both answers, and how many of the two were answered without Apollo. */
async function twice(body: unknown, headers: Record<string, string> = {}): Promise<{ first: Answer; second: Answer; remembered: number }> {
  const before = await metricValue(h.t.baseUrl, REMEMBERED);
  const first = await post(body, headers);
  const second = await post(body, headers);
  return { first, second, remembered: (await metricValue(h.t.baseUrl, REMEMBERED)) - before };
}

async function users(n: number): Promise<string[]> {
  const ids = Array.from({ length: n }, () => randomUUID());
  await h.prisma.user.createMany({ data: ids.map((id, i) => ({ id, email: `${id}@example.test`, name: `Reader ${i}`, avatarUrl: `https://cdn.example.test/${id}.png` })) });
  return ids;
}

describe("an operation Apollo has validated, asked again", () => {
  it("_entities, user(id) and me: answered the second time without Apollo, with the first answer's status, headers and body", async () => {
    const ids = await users(3);
    const signedIn = await h.signedIn();
    const unique = randomUUID().replaceAll("-", ""); // a query text no earlier test has sent
    const cases: [unknown, Record<string, string>][] = [
      [{ query: `${print(UserEntitiesDocument)} # ${unique}`, variables: { representations: ids.map((id) => ({ __typename: "User", id })) } }, {}],
      [{ query: `query Profile${unique}($id: ID!) { user(id: $id) { id displayName avatarUrl } }`, variables: { id: ids[1] }, operationName: `Profile${unique}` }, {}],
      [{ query: `${print(MeDocument)} # ${unique}` }, signedIn.headers],
    ];
    for (const [body, headers] of cases) {
      const { first, second, remembered } = await twice(body, headers);
      expect(first.status).toBe(200);
      expect(first.body).toMatch(/^\{"data":\{"(_entities|user|me)":/);
      expect(second).toEqual(first);
      expect(remembered).toBe(1);
    }
    const entities = JSON.parse((await post(cases[0]?.[0])).body) as { data: { _entities: { id: string; displayName: string }[] } };
    expect(entities.data._entities.map((u) => [u.id, u.displayName])).toEqual(ids.map((id, i) => [id, `Reader ${i}`]));
  });

  it("counts the operation in the metrics as Apollo does", async () => {
    const [id] = await users(1);
    const name = `Counted${randomUUID().replaceAll("-", "")}`;
    const body = { query: `query ${name}($id: ID!) { user(id: $id) { id } }`, variables: { id } };
    const count = () => metricValue(h.t.baseUrl, "graphql_operations_total", { operation: name, type: "query", outcome: "success" });
    const { remembered } = await twice(body);
    expect([remembered, await count()]).toEqual([1, 2]);
  });

  it("answers with the content type Apollo chooses for the Accept header, and leaves one it refuses (406) to Apollo", async () => {
    const [id] = await users(1);
    const body = { query: `query Accepting${randomUUID().replaceAll("-", "")}($id: ID!) { user(id: $id) { id } }`, variables: { id } };
    await post(body);
    for (const accept of ["application/graphql-response+json", "application/json", "*/*", "application/graphql-response+json, application/json;q=0.9"]) {
      const { first, second, remembered } = await twice(body, { accept });
      expect([accept, second, remembered]).toEqual([accept, first, 2]);
      expect(first.contentType).toMatch(accept.startsWith("application/graphql-response+json") ? /^application\/graphql-response\+json/ : /^application\/json/);
    }
    const refused = await twice(body, { accept: "text/plain" });
    expect([refused.first.status, refused.second, refused.remembered]).toEqual([406, refused.first, 0]);
  });

  it("errors raised while executing: formatted as Apollo formats them, the request id on each", async () => {
    const query = `query Broken${randomUUID().replaceAll("-", "")}($r: [_Any!]!) { _entities(representations: $r) { ... on User { id } } }`;
    const { first, second, remembered } = await twice({ query, variables: { r: [{ __typename: "Nobody", id: randomUUID() }] } });
    expect(JSON.parse(first.body)).toMatchObject({ errors: [{ path: ["_entities"], extensions: { requestId: "reads-test" } }] });
    expect([second, remembered]).toEqual([first, 1]);
  });

  it("refreshTokens: a rotation answered without Apollo hands out a token that rotates again; a bad token is refused as Apollo refuses it", async () => {
    const signedIn = await h.signedIn();
    const query = `${print(RefreshTokensDocument)} # ${randomUUID()}`;
    const rotate = async (refreshToken: string) => JSON.parse((await post({ query, variables: { refreshToken } })).body) as { data?: { refreshTokens?: { refreshToken: string; session: { id: string } } } };
    const before = await metricValue(h.t.baseUrl, REMEMBERED);
    const first = await rotate(signedIn.refreshToken);
    const second = await rotate(first.data?.refreshTokens?.refreshToken ?? "");
    const third = await rotate(second.data?.refreshTokens?.refreshToken ?? "");
    expect([first, second, third].map((r) => r.data?.refreshTokens?.session.id)).toEqual([signedIn.session.id, signedIn.session.id, signedIn.session.id]);
    expect((await metricValue(h.t.baseUrl, REMEMBERED)) - before).toBe(2);
    const refused = await twice({ query: `${print(RefreshTokensDocument)} # ${randomUUID()}`, variables: { refreshToken: "not-a-refresh-token" } });
    expect(JSON.parse(refused.first.body)).toMatchObject({ errors: [{ extensions: { code: "UNAUTHENTICATED", requestId: "reads-test" } }], data: null });
    expect([refused.second, refused.remembered]).toEqual([refused.first, 1]);
  });
});

describe("left to Apollo", () => {
  it("an ended session's token: refused on the next request, as Apollo refuses it", async () => {
    const signedIn = await h.signedIn();
    const query = `${print(MeDocument)} # ${randomUUID()}`;
    const before = await twice({ query }, signedIn.headers);
    expect(before.remembered).toBe(1);
    expect((await graphql(h.t.baseUrl, LogoutDocument, {}, bearer(signedIn.accessToken))).data).toEqual({ logout: true });
    const after = await twice({ query }, signedIn.headers);
    expect(JSON.parse(after.first.body)).toMatchObject({ errors: [{ extensions: { code: "UNAUTHENTICATED" } }] });
    expect([after.second, after.remembered]).toEqual([after.first, 0]);
  });

  it("other mutations, other root fields, a wrong operationName, extensions, variables that are no object, and a request for a federated trace", async () => {
    const [id] = await users(1);
    const signedIn = await h.signedIn();
    const read = { query: `query Read${randomUUID().replaceAll("-", "")}($id: ID!) { user(id: $id) { id } }`, variables: { id } };
    await post(read);
    const cases: [string, unknown, Record<string, string>][] = [
      ["a mutation not listed", { query: `mutation { logout } # ${randomUUID()}` }, {}],
      ["another root field", { query: `${print(MyPreferencesDocument)} # ${randomUUID()}` }, signedIn.headers],
      ["a read beside another root field", { query: `query($id: ID!) { user(id: $id) { id } myPreferences { locale } } # ${randomUUID()}`, variables: { id } }, signedIn.headers],
      ["a wrong operationName", { ...read, operationName: "Other" }, {}],
      ["extensions", { ...read, extensions: { persistedQuery: { version: 1, sha256Hash: "0".repeat(64) } } }, {}],
      ["variables that are no object", { ...read, variables: [id] }, {}],
      ["a federated trace", read, { "apollo-federation-include-trace": "ftv1" }],
    ];
    for (const [name, body, headers] of cases) {
      const { first, second, remembered } = await twice(body, headers);
      expect([name, remembered]).toEqual([name, 0]);
      if (name !== "a federated trace") expect([name, second]).toEqual([name, first]); // a trace times the request
    }
    const traced = JSON.parse((await post(read, { "apollo-federation-include-trace": "ftv1" })).body) as { extensions?: { ftv1?: string } };
    expect(typeof traced.extensions?.ftv1).toBe("string");
  });
});
