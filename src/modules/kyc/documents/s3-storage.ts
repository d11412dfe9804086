import { DeleteObjectCommand, GetObjectCommand, NoSuchKey, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { checkDocumentKey, DocumentNotFoundError, type DocumentStorage } from "./storage";

export interface S3StorageOptions {
  bucket: string;
  region: string;
  /** An S3-compatible endpoint (MinIO, a test fake); AWS's own for the region when unset. */
  endpoint?: string;
  /** `https://endpoint/<bucket>/<key>` rather than `https://<bucket>.endpoint/<key>` (MinIO and most S3-compatible stores). */
  forcePathStyle?: boolean;
  /** The SDK's usual chain (environment, profile, instance role) when unset. */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /** Put before every key, e.g. `kyc/`, to share a bucket. */
  prefix?: string;
  /** Attempts per call, retries included (the SDK's default, 3, when unset). */
  maxAttempts?: number;
}

/**
 * Documents as S3 objects `<prefix><userId>/<documentId>`. The SDK signs every request (SigV4)
 * and adds a CRC32 checksum to puts, which S3 verifies; gets ask for it back, and the SDK checks
 * the body against it.
 */
export class S3DocumentStorage implements DocumentStorage {
  readonly kind = "s3";
  private readonly client: S3Client;
  private readonly bucket: string;
  private readonly prefix: string;

  constructor(options: S3StorageOptions) {
    const { bucket, prefix = "", ...client } = options;
    this.client = new S3Client(client);
    this.bucket = bucket;
    this.prefix = prefix;
  }

  private objectOf(key: string): { Bucket: string; Key: string } {
    return { Bucket: this.bucket, Key: `${this.prefix}${checkDocumentKey(key)}` };
  }

  async put(key: string, body: Buffer): Promise<void> {
    await this.client.send(new PutObjectCommand({ ...this.objectOf(key), Body: body, ContentType: "application/octet-stream" }));
  }

  async get(key: string): Promise<Buffer> {
    try {
      const out = await this.client.send(new GetObjectCommand({ ...this.objectOf(key), ChecksumMode: "ENABLED" }));
      if (!out.Body) throw new Error(`S3 answered GetObject of ${key} without a body`);
      return Buffer.from(await out.Body.transformToByteArray());
    } catch (error) {
      if (error instanceof NoSuchKey) throw new DocumentNotFoundError(key);
      throw error;
    }
  }

  /** S3 answers a delete of a missing key as a success, so this is idempotent as it stands. */
  async delete(key: string): Promise<void> {
    await this.client.send(new DeleteObjectCommand(this.objectOf(key)));
  }

  /** Closes the SDK's connections. */
  close(): void {
    this.client.destroy();
  }
}
