import { randomBytes, randomUUID } from "node:crypto";
import { mkdtemp, readdir, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { LocalDocumentStorage } from "../../src/modules/kyc/documents/local-storage";
import { S3DocumentStorage, type S3StorageOptions } from "../../src/modules/kyc/documents/s3-storage";
import { DocumentNotFoundError, type DocumentStorage } from "../../src/modules/kyc/documents/storage";
import { startFakeS3, type FakeS3 } from "../support/fakes/s3";

const newKey = () => `${randomUUID()}/${randomUUID()}`;
const BAD_KEYS = ["", "../escape", `${randomUUID()}/../${randomUUID()}`, `../${randomUUID()}`, `/${randomUUID()}/${randomUUID()}`, `${randomUUID()}/${randomUUID()}/x`, `${randomUUID()}`.toUpperCase() + `/${randomUUID()}`, `${randomUUID()}\\${randomUUID()}`];

interface Subject {
  storage: DocumentStorage;
  close(): Promise<void>;
}

const CREDENTIALS = { accessKeyId: "AKIDFAKES3", secretAccessKey: "fake-secret-of-the-test" };
let root: string;
let s3: FakeS3;
const s3Options = (more: Partial<S3StorageOptions> = {}): S3StorageOptions => ({ bucket: "documents", region: "eu-west-1", endpoint: s3.url, forcePathStyle: true, credentials: CREDENTIALS, prefix: "kyc/", ...more });

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), "kyc-documents-"));
  s3 = await startFakeS3({ ...CREDENTIALS, region: "eu-west-1", buckets: ["documents"] });
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
  await s3.close();
});

const subjects: [string, () => Subject][] = [
  ["local", () => ({ storage: new LocalDocumentStorage(path.join(root, "store")), close: async () => undefined })],
  [
    "s3",
    () => {
      const storage = new S3DocumentStorage(s3Options());
      return { storage, close: async () => storage.close() };
    },
  ],
];

describe.each(subjects)("%s document storage (the contract)", (_name, make) => {
  let subject: Subject;
  beforeAll(() => {
    subject = make();
  });
  afterAll(() => subject.close());

  it("gives back the 10 MB it was given", async () => {
    const key = newKey();
    const body = randomBytes(10 * 1024 * 1024);
    await subject.storage.put(key, body);
    expect((await subject.storage.get(key)).equals(body)).toBe(true);
  });

  it("keeps the last of two puts under one key", async () => {
    const key = newKey();
    await subject.storage.put(key, Buffer.from("first version, longer than the second"));
    await subject.storage.put(key, Buffer.from("second"));
    expect((await subject.storage.get(key)).toString()).toBe("second");
  });

  it("fails a get of a key holding nothing with DocumentNotFoundError naming the key", async () => {
    const key = newKey();
    await expect(subject.storage.get(key)).rejects.toThrow(new DocumentNotFoundError(key));
    await expect(subject.storage.get(key)).rejects.toBeInstanceOf(DocumentNotFoundError);
  });

  it("deletes, and deletes again or what never was without an error", async () => {
    const key = newKey();
    await subject.storage.put(key, Buffer.from("to be deleted"));
    await subject.storage.delete(key);
    await expect(subject.storage.get(key)).rejects.toBeInstanceOf(DocumentNotFoundError);
    await subject.storage.delete(key);
    await subject.storage.delete(newKey());
  });

  it("keeps documents of two keys apart, an empty one too", async () => {
    const [a, b] = [newKey(), newKey()];
    await subject.storage.put(a, Buffer.from("a"));
    await subject.storage.put(b, Buffer.alloc(0));
    expect((await subject.storage.get(a)).toString()).toBe("a");
    expect((await subject.storage.get(b)).length).toBe(0);
  });

  it.each(BAD_KEYS)("refuses the key %j for every operation", async (key) => {
    const refused = /Document keys are <uuid>\/<uuid> in lowercase/;
    await expect(subject.storage.put(key, Buffer.from("x"))).rejects.toThrow(refused);
    await expect(subject.storage.get(key)).rejects.toThrow(refused);
    await expect(subject.storage.delete(key)).rejects.toThrow(refused);
  });
});

describe("local document storage", () => {
  const storage = () => new LocalDocumentStorage(path.join(root, "local"));

  it("writes files only its user reads (0600) in folders only its user opens (0700), and leaves no temporary file", async () => {
    const key = newKey();
    await storage().put(key, Buffer.from("secret"));
    const [user, document] = key.split("/") as [string, string];
    expect((await stat(path.join(root, "local", user, document))).mode & 0o777).toBe(0o600);
    expect((await stat(path.join(root, "local", user))).mode & 0o777).toBe(0o700);
    expect((await stat(path.join(root, "local"))).mode & 0o777).toBe(0o700);
    expect(await readdir(path.join(root, "local", user))).toEqual([document]);
  });

  it("replaces a document whole: concurrent readers see the old one or the new one, never a part", async () => {
    const key = newKey();
    const [older, newer] = [Buffer.alloc(2 * 1024 * 1024, "o"), Buffer.alloc(1024 * 1024, "n")];
    await storage().put(key, older);
    const seen = new Set<string>();
    const reads = async () => {
      for (let i = 0; i < 20; i += 1) {
        const body = await storage().get(key);
        seen.add(body.equals(older) ? "older" : body.equals(newer) ? "newer" : `a part (${body.length} bytes)`);
      }
    };
    const writes = async () => {
      for (const body of [newer, older, newer]) await storage().put(key, body);
    };
    await Promise.all([reads(), writes(), reads()]);
    expect([...seen].filter((s) => s !== "older" && s !== "newer")).toEqual([]);
    expect((await storage().get(key)).equals(newer)).toBe(true);
    expect(await readdir(path.join(root, "local", key.split("/")[0] as string))).toEqual([key.split("/")[1]]);
  });

  it("creates nothing outside its root for a refused key", async () => {
    await expect(storage().put("../../outside/x", Buffer.from("x"))).rejects.toThrow(/Document keys/);
    expect(await readdir(root)).not.toContain("outside");
  });
});

describe("S3 document storage", () => {
  it("stores the object under the prefix, over signed requests the fake verified", async () => {
    const storage = new S3DocumentStorage(s3Options());
    try {
      const key = newKey();
      const from = s3.requests.length;
      await storage.put(key, Buffer.from("sealed bytes"));
      expect(s3.object("documents", `kyc/${key}`)?.toString()).toBe("sealed bytes");
      expect(await storage.get(key)).toEqual(Buffer.from("sealed bytes"));
      expect(s3.requests.slice(from).map((r) => [r.method, r.path])).toEqual([
        ["PUT", `/documents/kyc/${key}`],
        ["GET", `/documents/kyc/${key}`],
      ]);
    } finally {
      storage.close();
    }
  });

  it("fails with S3's error when the signature is wrong (the fake checks it), and never as a missing document", async () => {
    const storage = new S3DocumentStorage(s3Options({ credentials: { ...CREDENTIALS, secretAccessKey: "not-the-secret" }, maxAttempts: 1 }));
    try {
      await expect(storage.put(newKey(), Buffer.from("x"))).rejects.toMatchObject({ name: "SignatureDoesNotMatch" });
      await expect(storage.get(newKey())).rejects.toMatchObject({ name: "SignatureDoesNotMatch" });
    } finally {
      storage.close();
    }
  });

  it("retries a failed request within its attempts, and reports the failure past them", async () => {
    const storage = new S3DocumentStorage(s3Options({ maxAttempts: 2 }));
    try {
      const key = newKey();
      s3.failNext(1);
      await storage.put(key, Buffer.from("after one failure"));
      expect((await storage.get(key)).toString()).toBe("after one failure");
      s3.failNext(2, 503, "SlowDown");
      await expect(storage.get(key)).rejects.toMatchObject({ name: "SlowDown", $metadata: { httpStatusCode: 503, attempts: 2 } });
    } finally {
      storage.close();
    }
  });
});
