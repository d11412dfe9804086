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
