/**
 * Where document bytes go (already sealed: storage never sees a document in clear). Keys are
 * chosen by the module (`<userId>/<documentId>`), never by the caller.
 */
export interface DocumentStorage {
  readonly kind: "local" | "s3";
  put(key: string, body: Buffer): Promise<void>;
  /** The bytes stored under `key`; fails when there are none. */
  get(key: string): Promise<Buffer>;
  /** Removes `key`; succeeds when it is already gone. */
  delete(key: string): Promise<void>;
}

/** A `get` of a key under which nothing is stored. */
export class DocumentNotFoundError extends Error {
  constructor(readonly key: string) {
    super(`No document is stored under ${key}`);
  }
}

const UUID = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}";
const KEY = new RegExp(`^${UUID}/${UUID}$`);

/**
 * `key` when it is `<uuid>/<uuid>` in lowercase; any other key is a bug of the caller, refused
 * before it names a file or an object (so no key reaches outside its user's folder).
 */
export function checkDocumentKey(key: string): string {
  if (!KEY.test(key)) throw new Error(`Document keys are <uuid>/<uuid> in lowercase, not ${JSON.stringify(key.slice(0, 100))}`);
  return key;
}
