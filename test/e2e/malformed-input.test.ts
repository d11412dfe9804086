import { randomUUID } from "node:crypto";
import {
  LoginDocument,
  RegisterDocument,
  RequestPasswordResetDocument,
  ResendVerificationEmailDocument,
  UpdateProfileDocument,
  UserEntitiesDocument,
  VerifyEmailDocument,
} from "../support/generated/operations";
import { PASSWORD, fromNewIp, newEmail, useApp } from "../support/harness";
import { unexpectedErrorsDuring } from "../support/app";
import { graphql } from "../support/graphql";

/**
 * Well-typed requests whose values are malformed: each is refused with a client code (400 where Apollo
 * refuses the request, BAD_USER_INPUT where an input check does) and none is logged as unexpected.
 */
const h = useApp();

const post = async (body: unknown) => {
  const res = await fetch(`${h.t.baseUrl}/graphql`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  return { status: res.status, body: (await res.json()) as { data?: unknown; errors?: { message: string; path?: unknown[]; extensions?: Record<string, unknown> }[] } };
};
/** `_entities` with representations as a caller may send them, well-typed (`_Any`) or not. */
const entities = (...representations: unknown[]) => graphql(h.t.baseUrl, UserEntitiesDocument, { representations: representations as { __typename: string }[] });
const fieldsOf = (res: { errors?: { extensions?: Record<string, unknown> }[] }) => ({ code: res.errors?.[0]?.extensions?.code, fields: res.errors?.[0]?.extensions?.fields });

it("malformed input: emails with RFC 6531 local parts and RFC 5322 specials register, verify and log in", async () => {
  const unexpected = await unexpectedErrorsDuring(h.t, async () => {
    for (const email of [`josé.${randomUUID()}@example.test`, `a!b#${randomUUID()}@example.test`, `用户${randomUUID()}@example.test`]) {
      const registered = await graphql(h.t.baseUrl, RegisterDocument, { input: { email, password: PASSWORD } }, fromNewIp());
      expect({ data: registered.data, errors: registered.errors }).toEqual({ data: { register: { status: "VERIFICATION_EMAIL_SENT" } }, errors: undefined });
      const verified = await graphql(h.t.baseUrl, VerifyEmailDocument, { token: (await h.mailTo(email, "verify-email")).params.token as string });
      expect(verified.data?.verifyEmail).toMatchObject({ email, status: "ACTIVE" });
      const login = await graphql(h.t.baseUrl, LoginDocument, { input: { email, password: PASSWORD } }, fromNewIp());
      expect(login.data?.login).toMatchObject({ __typename: "AuthPayload", user: { email } });
    }
  });
  expect(unexpected).toEqual([]);
});

it("malformed input: a control character in any text field, or a numeric top-level domain, is refused with BAD_USER_INPUT naming the field, before any write", async () => {
  const prisma = h.t.app.platform.database.prisma;
  const usersBefore = await prisma.user.count();
  const { email, headers: bearer } = await h.signedIn();
  const register = (input: Record<string, string>) => graphql(h.t.baseUrl, RegisterDocument, { input: { email: newEmail(), password: PASSWORD, ...input } }, fromNewIp());
  const refused = (...fields: string[]) => ({ code: "BAD_USER_INPUT", fields: fields.map((field) => ({ field, message: expect.any(String) })) });

  const unexpected = await unexpectedErrorsDuring(h.t, async () => {
    expect(fieldsOf(await register({ email: "a\u0000b@example.test" }))).toEqual(refused("input.email"));
    expect(fieldsOf(await register({ email: "a\rb@example.test" }))).toEqual(refused("input.email"));
    expect(fieldsOf(await register({ email: "a\u0085b@example.test" }))).toEqual(refused("input.email"));
    expect(fieldsOf(await register({ email: "x@example.1" }))).toEqual(refused("input.email"));
    expect(fieldsOf(await register({ name: "Ada\u0000" }))).toEqual(refused("input.name"));
    expect(fieldsOf(await graphql(h.t.baseUrl, LoginDocument, { input: { email: `${email}\u0000`, password: PASSWORD } }, fromNewIp()))).toEqual(refused("input.email"));
    expect(fieldsOf(await graphql(h.t.baseUrl, LoginDocument, { input: { email, password: PASSWORD, deviceName: "phone\u007f", deviceFingerprint: "f\u0000" } }, fromNewIp()))).toEqual(
      refused("input.deviceName", "input.deviceFingerprint"),
    );
    expect(fieldsOf(await graphql(h.t.baseUrl, ResendVerificationEmailDocument, { email: "a\u0000@example.test" }, fromNewIp()))).toEqual(refused("email"));
    expect(fieldsOf(await graphql(h.t.baseUrl, RequestPasswordResetDocument, { email: "a@exam\u0000ple.test" }, fromNewIp()))).toEqual(refused("email"));
    expect(fieldsOf(await graphql(h.t.baseUrl, UpdateProfileDocument, { input: { name: "Ada", avatarUrl: "https://cdn.example.test/a\u0000.png" } }, bearer))).toEqual(refused("input.avatarUrl"));
    expect(fieldsOf(await graphql(h.t.baseUrl, UpdateProfileDocument, { input: { avatarUrl: "https://cdn.example.test/\na.png" } }, bearer))).toEqual(refused("input.avatarUrl"));
  });
  expect(unexpected).toEqual([]);
  expect(await prisma.user.count()).toBe(usersBefore + 1);
  expect(await prisma.user.findUniqueOrThrow({ where: { email }, select: { name: true, avatarUrl: true } })).toEqual({ name: null, avatarUrl: null });
});

it("malformed input: an _entities representation with a non-string id or an unknown __typename answers BAD_USER_INPUT", async () => {
  const unexpected = await unexpectedErrorsDuring(h.t, async () => {
    for (const id of [5, null, {}, ["x"], undefined]) {
      const res = await entities({ __typename: "User", id: randomUUID() }, { __typename: "User", id });
      expect(fieldsOf(res)).toEqual({ code: "BAD_USER_INPUT", fields: [{ field: "representations.1.id", message: "must be a string" }] });
    }
    for (const representation of [{ __typename: "Nope", id: "x" }, { __typename: "Query", id: "x" }, { __typename: "constructor", id: "x" }, { id: randomUUID() }, "User", 5]) {
      const res = await entities({ __typename: "User", id: randomUUID() }, representation);
      expect(fieldsOf(res)).toEqual({ code: "BAD_USER_INPUT", fields: [{ field: "representations.1.__typename", message: "must name an entity type (User)" }] });
    }
  });
  expect(unexpected).toEqual([]);
});

it("malformed input: Apollo's persisted-query refusals answer 400 BAD_REQUEST with their message; an unknown hash keeps the protocol's PERSISTED_QUERY_NOT_FOUND", async () => {
  const hash = "a".repeat(64);
  const unexpected = await unexpectedErrorsDuring(h.t, async () => {
    const notFound = await post({ extensions: { persistedQuery: { version: 1, sha256Hash: hash } } });
    expect({ status: notFound.status, code: notFound.body.errors?.[0]?.extensions?.code }).toEqual({ status: 200, code: "PERSISTED_QUERY_NOT_FOUND" });
    for (const [extensions, message] of [
      [{ persistedQuery: { version: 1, sha256Hash: hash } }, "provided sha does not match query"],
      [{ persistedQuery: { version: 1 } }, "provided sha does not match query"],
      [{ persistedQuery: { version: 2, sha256Hash: hash } }, "Unsupported persisted query version"],
      [{ persistedQuery: "yes" }, "Unsupported persisted query version"],
    ] as const) {
      const res = await post({ query: "{ __typename }", extensions });
      expect({ status: res.status, errors: res.body.errors }).toEqual({ status: 400, errors: [{ message, extensions: { code: "BAD_REQUEST", requestId: expect.any(String) } }] });
    }
  });
  expect(unexpected).toEqual([]);
});

it("malformed input: a subscription over HTTP answers 400 BAD_REQUEST pointing at the WebSocket transport", async () => {
  const unexpected = await unexpectedErrorsDuring(h.t, async () => {
    for (const query of ["subscription { verificationStatusChanged { status } }", "subscription Changes { verificationStatusChanged { verificationId } }"]) {
      const res = await post({ query });
      expect(res.status).toBe(400);
      expect(res.body.errors).toEqual([{ message: "Subscriptions are served over WebSocket (graphql-transport-ws) at /graphql, not over HTTP", extensions: { code: "BAD_REQUEST", requestId: expect.any(String) } }]);
    }
  });
  expect(unexpected).toEqual([]);
});
