import { bytesOfSize } from "../support/documents";
import { graphql } from "../support/graphql";
import { newEmail, PASSWORD, useApp } from "../support/harness";

/**
 * Issue 14: a verification document travels as base64 in uploadVerificationDocument's
 * `input.contentBase64`, up to MAX_DOCUMENT_SIZE_MB (10 MiB here), while every other body keeps
 * HTTP_BODY_LIMIT_BYTES (1 MiB).
 */
const h = useApp();
const MiB = 1_048_576;
const UPLOAD = `mutation Upload($input: UploadVerificationDocumentInput!) { uploadVerificationDocument(input: $input) { id } }`;
const REGISTER = `mutation Register($input: RegisterInput!) { register(input: $input) { status } }`;
const TOO_LARGE = "The document is larger than MAX_DOCUMENT_SIZE_MB (10 MB)";

async function post(query: string, input: Record<string, unknown>, headers: Record<string, string> = {}) {
  const res = await fetch(`${h.t.baseUrl}/graphql`, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify({ query, variables: { input } }) });
  return { status: res.status, body: (await res.json()) as { data?: unknown; errors?: { message: string; extensions?: { code?: string; requestId?: string } }[] } };
}
const document = (bytes: number) => ({ type: "PASSPORT", contentType: "image/png", fileName: "passport.png", contentBase64: bytesOfSize("image/png", bytes).toString("base64") });

it("a document of exactly 10 MiB is accepted, stored and counted at its size", async () => {
  const user = await h.signedIn();
  const started = await graphql<{ startVerification: { id: string } }, unknown>(h.t.baseUrl, `mutation { startVerification { id } }`, {}, user.headers);
  const verificationId = started.data?.startVerification.id as string;
  const res = await post(UPLOAD, { verificationId, ...document(10 * MiB) }, user.headers);
  expect([res.status, res.body]).toEqual([200, { data: { uploadVerificationDocument: { id: expect.any(String) } } }]);
  const stored = await h.prisma.kycDocument.findMany({ where: { verificationId } });
  expect(stored.map((d) => [d.mime, d.sizeBytes])).toEqual([["image/png", 10 * MiB]]);
});

it("an 11 MiB document, or the first size whose base64 is longer than 10 MiB's, is refused with 413 naming MAX_DOCUMENT_SIZE_MB; the service answers on", async () => {
  const user = await h.signedIn();
  for (const bytes of [11 * MiB, 10 * MiB + 3]) {
    const res = await post(UPLOAD, document(bytes), user.headers);
    expect([bytes, res.status, res.body.errors]).toEqual([bytes, 413, [{ message: TOO_LARGE, extensions: { code: "PAYLOAD_TOO_LARGE", requestId: expect.any(String) } }]]);
  }
  expect((await graphql(h.t.baseUrl, `{ __typename }`)).data).toEqual({ __typename: "Query" });
});

it("an upload without an Authorization header (which can never succeed) keeps the 1 MiB limit: 413 as if the limit applied", async () => {
  const res = await post(UPLOAD, document(2 * MiB));
  expect([res.status, res.body.errors?.[0]?.message]).toEqual([413, "Request body exceeds the limit of 1048576 bytes"]);
});

it("an ordinary mutation keeps the 1 MiB limit: register with a 2 MiB variable is refused with 413", async () => {
  const res = await post(REGISTER, { email: newEmail(), password: PASSWORD, name: "x".repeat(2 * MiB) });
  expect([res.status, res.body.errors?.[0]?.message]).toEqual([413, "Request body exceeds the limit of 1048576 bytes"]);
});

it("register smuggling a 10 MiB variables.input.contentBase64 is refused with 413 as if the limit applied", async () => {
  const res = await post(REGISTER, { email: newEmail(), password: PASSWORD, contentBase64: document(10 * MiB).contentBase64 });
  expect([res.status, res.body.errors?.[0]?.message]).toEqual([413, "Request body exceeds the limit of 1048576 bytes"]);
});

it("a document mutation batched with another field is refused the same way", async () => {
  const res = await post(`mutation Two($input: UploadVerificationDocumentInput!) { uploadVerificationDocument(input: $input) { id } resendVerificationEmail(email: "a@example.test") }`, document(2 * MiB));
  expect([res.status, res.body.errors?.[0]?.message]).toEqual([413, "Request body exceeds the limit of 1048576 bytes"]);
});
