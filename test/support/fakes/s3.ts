import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { crc32 } from "node:zlib";

export interface FakeS3Options {
  accessKeyId: string;
  secretAccessKey: string;
  region: string;
  buckets: string[];
}

interface StoredObject {
  body: Buffer;
  contentType: string;
  crc32: string;
}

const sha256 = (data: Buffer | string) => createHash("sha256").update(data).digest("hex");
const hmac = (key: Buffer | string, data: string) => createHmac("sha256", key).update(data).digest();
const crc32Base64 = (body: Buffer) => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(crc32(body));
  return b.toString("base64");
};
const xmlEscape = (s: string) => s.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);
/** RFC 3986 encoding as SigV4 wants it for query strings (everything but unreserved characters). */
const uriEncode = (s: string) => encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

class S3Error extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/**
 * S3 on loopback, path-style (`/<bucket>/<key>`), for the three calls document storage makes:
 * PutObject, GetObject and DeleteObject. Every request must carry a SigV4 signature by
 * `accessKeyId` that the fake verifies in full with the secret (canonical request, scope, signing
 * key), and an `x-amz-content-sha256` that is the body's hash (or UNSIGNED-PAYLOAD); a body sent
 * `aws-chunked` (STREAMING-…) is refused with 501, as the SDK sends none for Buffer bodies. A put's
 * `x-amz-checksum-crc32` is checked (400 BadDigest) and given back on a get that asks for it.
 * Errors are S3's XML; a missing key is 404 NoSuchKey. `failNext` makes the next requests fail.
 */
export async function startFakeS3(options: FakeS3Options) {
  const objects = new Map<string, StoredObject>();
  const buckets = new Set(options.buckets);
  const requests: { method: string; path: string; contentSha256: string }[] = [];
  let failures: { left: number; status: number; code: string } = { left: 0, status: 500, code: "InternalError" };

  function verifySignature(req: IncomingMessage, url: URL, contentSha256: string): void {
    // The canonical URI is the path exactly as sent (S3 neither normalises nor re-encodes it).
    const path = (req.url ?? "/").split("?")[0] as string;
    const authorization = String(req.headers.authorization ?? "");
    const prefix = `AWS4-HMAC-SHA256 Credential=${options.accessKeyId}/`;
    if (!authorization.startsWith("AWS4-HMAC-SHA256 ")) throw new S3Error(403, "AccessDenied", "Requests must be signed with AWS4-HMAC-SHA256");
    if (!authorization.startsWith(prefix)) throw new S3Error(403, "InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records.");
    const parts = Object.fromEntries(authorization.slice("AWS4-HMAC-SHA256 ".length).split(/,\s*/).map((p) => p.split("=", 2) as [string, string]));
    const [, date, region, service, terminator] = (parts.Credential ?? "").split("/");
    const amzDate = String(req.headers["x-amz-date"] ?? "");
    if (region !== options.region || service !== "s3" || terminator !== "aws4_request" || !amzDate.startsWith(date ?? "-")) {
      throw new S3Error(403, "AuthorizationHeaderMalformed", `The credential scope ${parts.Credential} does not match ${amzDate.slice(0, 8)}/${options.region}/s3/aws4_request`);
    }
    const signed = (parts.SignedHeaders ?? "").split(";");
    if (!signed.includes("host") || !signed.includes("x-amz-date") || !signed.includes("x-amz-content-sha256")) throw new S3Error(403, "AccessDenied", "host, x-amz-date and x-amz-content-sha256 must be signed");
    const query = [...url.searchParams].map(([k, v]) => `${uriEncode(k)}=${uriEncode(v)}`).sort();
    const canonicalHeaders = signed.map((name) => `${name}:${String(req.headers[name] ?? "").trim().replace(/\s+/g, " ")}\n`).join("");
    const canonicalRequest = [req.method, path, query.join("&"), canonicalHeaders, signed.join(";"), contentSha256].join("\n");
    const scope = `${date}/${region}/s3/aws4_request`;
    const stringToSign = ["AWS4-HMAC-SHA256", amzDate, scope, sha256(canonicalRequest)].join("\n");
    const signingKey = hmac(hmac(hmac(hmac(`AWS4${options.secretAccessKey}`, date as string), region), "s3"), "aws4_request");
    const expected = hmac(signingKey, stringToSign);
    const given = Buffer.from(parts.Signature ?? "", "hex");
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      throw new S3Error(403, "SignatureDoesNotMatch", "The request signature we calculated does not match the signature you provided. Check your key and signing method.");
    }
  }

  function handle(req: IncomingMessage, body: Buffer, res: ServerResponse): void {
    const url = new URL(req.url ?? "/", "http://fake");
    const [, bucket, ...rest] = url.pathname.split("/");
    const key = decodeURIComponent(rest.join("/"));
    const contentSha256 = String(req.headers["x-amz-content-sha256"] ?? "");
    requests.push({ method: req.method ?? "", path: url.pathname, contentSha256 });
    if (failures.left > 0) {
      failures.left -= 1;
      throw new S3Error(failures.status, failures.code, "The fake was told to fail this request");
    }
    if (contentSha256.startsWith("STREAMING-")) throw new S3Error(501, "NotImplemented", `the fake does not decode aws-chunked bodies (${contentSha256})`);
    if (contentSha256 !== "UNSIGNED-PAYLOAD" && contentSha256 !== sha256(body)) throw new S3Error(400, "XAmzContentSHA256Mismatch", "The provided 'x-amz-content-sha256' header does not match what was computed.");
    verifySignature(req, url, contentSha256);
    if (!bucket || !buckets.has(bucket)) throw new S3Error(404, "NoSuchBucket", "The specified bucket does not exist");
    if (!key) throw new S3Error(501, "NotImplemented", "only object operations are served");
    const id = `${bucket}/${key}`;
    if (req.method === "PUT") {
      const checksum = crc32Base64(body);
      const claimed = req.headers["x-amz-checksum-crc32"];
      if (claimed !== undefined && claimed !== checksum) throw new S3Error(400, "BadDigest", "The CRC32 you specified did not match the calculated checksum.");
      objects.set(id, { body, contentType: String(req.headers["content-type"] ?? "binary/octet-stream"), crc32: checksum });
      res.writeHead(200, { etag: `"${createHash("md5").update(body).digest("hex")}"`, ...(claimed ? { "x-amz-checksum-crc32": checksum } : {}) }).end();
    } else if (req.method === "GET") {
      const object = objects.get(id);
      if (!object) throw new S3Error(404, "NoSuchKey", "The specified key does not exist.");
      const checksum = req.headers["x-amz-checksum-mode"] === "ENABLED" ? { "x-amz-checksum-crc32": object.crc32, "x-amz-checksum-type": "FULL_OBJECT" } : {};
      res.writeHead(200, { "content-type": object.contentType, "content-length": object.body.length, etag: `"${createHash("md5").update(object.body).digest("hex")}"`, ...checksum }).end(object.body);
    } else if (req.method === "DELETE") {
      objects.delete(id);
      res.writeHead(204).end();
    } else {
      throw new S3Error(405, "MethodNotAllowed", "The specified method is not allowed against this resource.");
    }
  }

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      try {
        handle(req, Buffer.concat(chunks), res);
      } catch (thrown) {
        const error = thrown instanceof S3Error ? thrown : new S3Error(500, "InternalError", `the fake failed: ${String(thrown)}`);
        const xml = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${error.code}</Code><Message>${xmlEscape(error.message)}</Message><RequestId>fake</RequestId><HostId>fake</HostId></Error>`;
        res.writeHead(error.status, { "content-type": "application/xml", "x-amz-request-id": "fake" }).end(xml);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    /** Every request received, in order (failed ones too). */
    requests,
    /** The stored body of `bucket/key`, or undefined. */
    object: (bucket: string, key: string) => objects.get(`${bucket}/${key}`)?.body,
    /** The next `times` requests fail with `status` and S3 error `code` (a 5xx is retried by the SDK). */
    failNext(times: number, status = 500, code = "InternalError"): void {
      failures = { left: times, status, code };
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

export type FakeS3 = Awaited<ReturnType<typeof startFakeS3>>;
