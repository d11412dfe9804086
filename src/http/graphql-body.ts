import type { IncomingMessage, ServerResponse } from "node:http";
import type { Readable, Transform } from "node:stream";
import { createBrotliDecompress, createGunzip, createInflate } from "node:zlib";
import { Kind, OperationTypeNode, type DocumentNode } from "graphql";
import { BodyRefusal, JsonBodyReader, overLimit, type LargeValue } from "./json-body-reader";

export { BodyRefusal } from "./json-body-reader";

export interface GraphqlBodyOptions {
  /** Most bytes of a body (HTTP_BODY_LIMIT_BYTES), the large value aside. */
  limitBytes: number;
  /**
   * One string allowed to be larger (a document's base64), up to `maxBytes`, for the operations
   * `allowedWhen` accepts once the body is parsed, in a request with an Authorization header (an
   * anonymous upload can never succeed, so it never gets past the limit); any other body holding
   * more than `limitBytes` in all is refused as if the large value were counted like the rest.
   */
  largeValue?: LargeValue & { allowedWhen(body: unknown): boolean };
}

const DECOMPRESSORS: Record<string, () => Transform> = { gzip: createGunzip, deflate: createInflate, br: createBrotliDecompress };

/** The media type and charset of a Content-Type header, lowercase. */
function contentType(header: string | undefined): { type: string; charset: string | undefined } {
  const [type = "", ...parameters] = (header ?? "").split(";");
  const charset = parameters.map((p) => p.split("=")).find(([name]) => name?.trim().toLowerCase() === "charset")?.[1];
  return { type: type.trim().toLowerCase(), charset: charset?.trim().replace(/^"(.*)"$/, "$1").toLowerCase() };
}

const hasBody = (req: IncomingMessage) => req.headers["transfer-encoding"] !== undefined || req.headers["content-length"] !== undefined;

/** Reads the body of one request: resolves with it, or rejects with a BodyRefusal. */
export type GraphqlBodyReader = (req: IncomingMessage, res: ServerResponse) => Promise<unknown>;

/**
 * The body reader of /graphql: it resolves with the parsed value of an `application/json` body,
 * in UTF-8, identity, gzip, deflate or br (with undefined for other types, unread, for Apollo to
 * refuse, and for bodiless requests), and reads it with a JsonBodyReader, so a body is refused
 * with 413 in the chunk that passes a limit, without reading the rest (the rest is discarded after
 * the answer, so that the client, still sending, reads it). Refusals reject with a BodyRefusal:
 * 400 for bad JSON or a broken stream, 413 past a limit, 415 for an unsupported charset or encoding.
 */
export function graphqlBody(options: GraphqlBodyOptions): GraphqlBodyReader {
  return (req, res) =>
    new Promise((resolve, reject) => {
      const { type, charset } = contentType(req.headers["content-type"]);
      if (!hasBody(req) || type !== "application/json") return resolve(undefined);
      if (charset !== undefined && charset !== "utf-8") return reject(new BodyRefusal(415, `Request body charset ${charset.slice(0, 40)} is not supported; send UTF-8`));
      const encoding = (req.headers["content-encoding"] ?? "identity").toLowerCase();
      const decompress = DECOMPRESSORS[encoding];
      if (!decompress && encoding !== "identity") return reject(new BodyRefusal(415, `Request body encoding ${encoding.slice(0, 40)} is not supported; send identity, gzip, deflate or br`));
      const source: Readable = decompress ? req.pipe(decompress()) : req;
      const large = req.headers.authorization ? options.largeValue : undefined;
      const reader = new JsonBodyReader({ limitBytes: options.limitBytes, largeValue: large });
      let settled = false;
      const settle = (failure: unknown, body?: unknown) => {
        if (settled) return;
        settled = true;
        source.off("data", onData).off("end", onEnd).off("error", onError);
        req.off("error", onError);
        if (!failure) return resolve(body);
        source.pause();
        if (source !== req) {
          req.unpipe(source as Transform);
          source.destroy();
        }
        res.once("finish", () => req.resume());
        reject(failure);
      };
      // A refusal, or anything else thrown (then answered 500 by the server), ends the reading.
      const attempt = (step: () => void) => {
        try {
          step();
        } catch (error) {
          settle(error);
        }
      };
      const onData = (chunk: Buffer) => attempt(() => reader.write(chunk));
      const onEnd = () =>
        attempt(() => {
          const body = reader.end();
          if (large && reader.bytes > options.limitBytes && !large.allowedWhen(body)) throw overLimit(options.limitBytes);
          settle(null, body);
        });
      const onError = () => settle(new BodyRefusal(400, "Request body could not be read whole"));
      source.on("data", onData).on("end", onEnd).on("error", onError);
      if (source !== req) req.on("error", onError);
    });
}

/**
 * Whether a parsed body asks for exactly one operation, a mutation, whose only root selection is
 * the field `field` (with `parse`, the app's own, token limit and all; a query that does not parse
 * is no such operation).
 */
export function onlyMutationOf(field: string, parse: (source: string) => DocumentNode): (body: unknown) => boolean {
  return (body) => {
    const query = typeof body === "object" && body !== null && !Array.isArray(body) ? (body as { query?: unknown }).query : undefined;
    if (typeof query !== "string") return false;
    let document: DocumentNode;
    try {
      document = parse(query);
    } catch {
      return false;
    }
    const [operation, ...others] = document.definitions;
    if (others.length > 0 || operation?.kind !== Kind.OPERATION_DEFINITION || operation.operation !== OperationTypeNode.MUTATION) return false;
    const [selection, ...more] = operation.selectionSet.selections;
    return more.length === 0 && selection?.kind === Kind.FIELD && selection.name.value === field;
  };
}
