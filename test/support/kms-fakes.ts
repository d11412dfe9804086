import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/** A loopback HTTP server answering JSON: `handle` returns [status, body]. */
async function jsonServer(handle: (req: IncomingMessage, body: string) => [number, object], headers: Record<string, string>): Promise<{ url: string; close(): Promise<void> }> {
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let body = "";
    req.on("data", (chunk: Buffer) => (body += chunk.toString("utf8")));
    req.on("end", () => {
      const [status, json] = handle(req, body);
      res.writeHead(status, headers).end(JSON.stringify(json));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** The fakes' own wrapping: AES-256-GCM, the context as AAD; `iv | tag | body`. */
function wrap(key: Buffer, plaintext: Buffer, aad: string): Buffer {
  const iv = randomBytes(12);
  const cipher = createCipheriv("aes-256-gcm", key, iv).setAAD(Buffer.from(aad));
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([iv, cipher.getAuthTag(), body]);
}

function unwrap(key: Buffer, blob: Buffer, aad: string): Buffer | null {
  try {
    const decipher = createDecipheriv("aes-256-gcm", key, blob.subarray(0, 12)).setAAD(Buffer.from(aad));
    decipher.setAuthTag(blob.subarray(12, 28));
    return Buffer.concat([decipher.update(blob.subarray(28)), decipher.final()]);
  } catch {
    return null;
  }
}

const canonical = (context: Record<string, string> | undefined) => JSON.stringify(Object.entries(context ?? {}).sort(([a], [b]) => (a < b ? -1 : 1)));

/**
 * AWS KMS on loopback, speaking its JSON 1.1 protocol: `POST /` with `X-Amz-Target:
 * TrentService.GenerateDataKey | TrentService.Decrypt`, `application/x-amz-json-1.1` bodies with
 * base64 blobs, errors as `{ __type, message }`. It requires a SigV4 `Authorization` header (the
 * signature is not checked), resolves aliases to key ARNs, and refuses a Decrypt whose
 * EncryptionContext or KeyId does not match the data key's with `InvalidCiphertextException` or
 * `IncorrectKeyException`, as KMS does.
 */
export async function startFakeKms() {
  const keys = new Map<string, Buffer>();
  const aliases = new Map<string, string>();
  const calls: { target: string; request: Record<string, unknown> }[] = [];
  const error = (type: string, message: string): [number, object] => [400, { __type: type, message }];
  const arnOf = (keyId: unknown) => (typeof keyId === "string" ? (aliases.get(keyId) ?? (keys.has(keyId) ? keyId : undefined)) : undefined);
  const server = await jsonServer(
    (req, body) => {
      const target = String(req.headers["x-amz-target"] ?? "");
      if (req.method !== "POST" || req.headers["content-type"] !== "application/x-amz-json-1.1") return error("UnknownOperationException", "expected POST application/x-amz-json-1.1");
      if (!String(req.headers.authorization ?? "").startsWith("AWS4-HMAC-SHA256 ")) return error("MissingAuthenticationTokenException", "Missing Authentication Token");
      const request = JSON.parse(body) as { KeyId?: string; KeySpec?: string; CiphertextBlob?: string; EncryptionContext?: Record<string, string> };
      calls.push({ target, request });
      if (target === "TrentService.GenerateDataKey") {
        const arn = arnOf(request.KeyId);
        if (!arn) return error("NotFoundException", `Key '${request.KeyId}' does not exist`);
        if (request.KeySpec !== "AES_256") return error("ValidationException", "KeySpec must be AES_256 here");
        const plaintext = randomBytes(32);
        const blob = Buffer.concat([Buffer.from(`${arn}\n`), wrap(keys.get(arn) as Buffer, plaintext, canonical(request.EncryptionContext))]);
        return [200, { CiphertextBlob: blob.toString("base64"), Plaintext: plaintext.toString("base64"), KeyId: arn }];
      }
      if (target === "TrentService.Decrypt") {
        const blob = Buffer.from(request.CiphertextBlob ?? "", "base64");
        const cut = blob.indexOf("\n");
        const arn = blob.subarray(0, Math.max(cut, 0)).toString();
        if (!keys.has(arn)) return error("InvalidCiphertextException", "");
        if (request.KeyId !== undefined && arnOf(request.KeyId) !== arn) return error("IncorrectKeyException", "The key ID in the request does not identify a CMK that can perform this operation.");
        const plaintext = unwrap(keys.get(arn) as Buffer, blob.subarray(cut + 1), canonical(request.EncryptionContext));
        if (!plaintext) return error("InvalidCiphertextException", "");
        return [200, { KeyId: arn, Plaintext: plaintext.toString("base64"), EncryptionAlgorithm: "SYMMETRIC_DEFAULT" }];
      }
      return error("UnknownOperationException", target);
    },
    { "content-type": "application/x-amz-json-1.1", "x-amzn-requestid": "fake" },
  );
  return {
    ...server,
    calls,
    /** Creates a key and points `alias` at it (moving the alias if it existed): a KEK rotation by alias. */
    createKey(alias: string): string {
      const arn = `arn:aws:kms:eu-west-1:111122223333:key/${randomBytes(16).toString("hex")}`;
      keys.set(arn, randomBytes(32));
      aliases.set(alias, arn);
      return arn;
    },
    /** Deletes a key: what it wrapped no longer opens. */
    deleteKey(arn: string): void {
      keys.delete(arn);
    },
  };
}

/**
 * HashiCorp Vault transit on loopback: `POST /v1/transit/datakey/plaintext/:name` and
 * `POST /v1/transit/decrypt/:name` with `X-Vault-Token`, answering `{ data: ... }` or
 * `{ errors: [...] }`. Keys are derived (`derived: true`): every call needs the base64 `context`,
 * and a ciphertext opens only under its own. Ciphertexts are `vault:v<N>:<base64>`; `rotate`
 * adds a version (old versions still decrypt).
 */
export async function startFakeVault(token: string) {
  const keys = new Map<string, Buffer[]>();
  const calls: { path: string; request: Record<string, unknown> }[] = [];
  const refuse = (status: number, message: string): [number, object] => [status, { errors: [message] }];
  const derive = (key: Buffer, context: string) => Buffer.from(hkdfSync("sha256", key, Buffer.from(context, "base64"), "fake-transit", 32));
  const server = await jsonServer(
    (req, body) => {
      if (req.headers["x-vault-token"] !== token) return refuse(403, "permission denied");
      const match = /^\/v1\/transit\/(datakey\/plaintext|decrypt)\/([^/]+)$/.exec(req.url ?? "");
      if (req.method !== "POST" || !match) return refuse(405, "unsupported path");
      const [, operation, name] = match as unknown as [string, string, string];
      const request = JSON.parse(body) as { bits?: number; context?: string; ciphertext?: string };
      calls.push({ path: `${operation}/${name}`, request });
      const versions = keys.get(decodeURIComponent(name));
      if (!versions) return refuse(400, "encryption key not found");
      if (!request.context) return refuse(400, "missing 'context' for key derivation; the key was created using a derived key, which means additional, per-request information must be included in order to perform operations with the key");
      if (operation === "datakey/plaintext") {
        if (request.bits !== 256) return refuse(400, "expected bits 256 here");
        const plaintext = randomBytes(32);
        const version = versions.length;
        const ciphertext = `vault:v${version}:${wrap(derive(versions[version - 1] as Buffer, request.context), plaintext, "").toString("base64")}`;
        return [200, { request_id: "fake", data: { plaintext: plaintext.toString("base64"), ciphertext, key_version: version } }];
      }
      const parsed = /^vault:v(\d+):(.+)$/.exec(request.ciphertext ?? "");
      const key = parsed ? versions[Number(parsed[1]) - 1] : undefined;
      const plaintext = parsed && key ? unwrap(derive(key, request.context), Buffer.from(parsed[2] as string, "base64"), "") : null;
      if (!plaintext) return refuse(400, "cipher: message authentication failed");
      return [200, { request_id: "fake", data: { plaintext: plaintext.toString("base64") } }];
    },
    { "content-type": "application/json" },
  );
  return {
    ...server,
    calls,
    createKey(name: string): void {
      keys.set(name, [randomBytes(32)]);
    },
    /** `POST /v1/transit/keys/:name/rotate`: a new version encrypts, old ones still decrypt. */
    rotate(name: string): void {
      keys.get(name)?.push(randomBytes(32));
    },
  };
}
