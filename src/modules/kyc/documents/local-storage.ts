import { randomUUID } from "node:crypto";
import { mkdir, open, readFile, rename, rm } from "node:fs/promises";
import path from "node:path";
import { checkDocumentKey, DocumentNotFoundError, type DocumentStorage } from "./storage";

const isMissing = (error: unknown) => (error as NodeJS.ErrnoException).code === "ENOENT";

/**
 * Documents as files under `rootDir` (`<rootDir>/<userId>/<documentId>`), readable by this
 * process's user only (files 0600, folders 0700). A put writes a temporary file beside the
 * target, flushes it and renames it over the target, then flushes the folder: a reader or a crash
 * sees the old document or the new one, never part of one.
 */
export class LocalDocumentStorage implements DocumentStorage {
  readonly kind = "local";
  private readonly root: string;

  constructor(rootDir: string) {
    this.root = path.resolve(rootDir);
  }

  private fileOf(key: string): string {
    return path.join(this.root, ...checkDocumentKey(key).split("/"));
  }

  async put(key: string, body: Buffer): Promise<void> {
    const file = this.fileOf(key);
    const folder = path.dirname(file);
    await mkdir(folder, { recursive: true, mode: 0o700 });
    // A dot name no key can take (keys are UUIDs), so a leftover of a crash is never read as a document.
    const temporary = path.join(folder, `.${path.basename(file)}.${randomUUID()}.tmp`);
    try {
      const handle = await open(temporary, "wx", 0o600);
      try {
        await handle.writeFile(body);
        await handle.sync();
      } finally {
        await handle.close();
      }
      await rename(temporary, file);
    } catch (error) {
      await rm(temporary, { force: true });
      throw error;
    }
    const directory = await open(folder, "r");
    try {
      await directory.sync();
    } finally {
      await directory.close();
    }
  }

  async get(key: string): Promise<Buffer> {
    try {
      return await readFile(this.fileOf(key));
    } catch (error) {
      if (isMissing(error)) throw new DocumentNotFoundError(key);
      throw error;
    }
  }

  async delete(key: string): Promise<void> {
    await rm(this.fileOf(key), { force: true });
  }
}
