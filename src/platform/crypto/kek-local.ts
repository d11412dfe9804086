import { hkdfSync, randomBytes } from "node:crypto";
import { open, seal } from "./aead";
import { bindingAad, type Binding, type DataKey, type KekProvider } from "./vault";

/** A local key-encryption key: exactly 32 bytes, and its name (stored with every record it wraps). */
export interface LocalKey {
  name: string;
  key: Buffer;
}

const PREFIX = "local:";

/** KEY_ENCRYPTION_KEY (32 or more bytes) as a local KEK: AES-256 needs exactly 32, derived with HKDF. */
export function keyEncryptionKeyAsKek(keyEncryptionKey: Buffer): LocalKey {
  return { name: "KEY_ENCRYPTION_KEY", key: Buffer.from(hkdfSync("sha256", keyEncryptionKey, Buffer.alloc(0), "identity-subgraph local KEK", 32)) };
}

/**
 * KEKs held by this process (KMS_MASTER_KEY, LOCAL_KMS_KEY_PATH, KEY_ENCRYPTION_KEY): data keys are
 * wrapped with AES-256-GCM under the first, bound to the record's owner and purpose; every key of
 * the ring unwraps, so a rotation puts the new key first and keeps the old one until keys:rewrap.
 */
export class LocalKekProvider implements KekProvider {
  private readonly ring: Map<string, Buffer>;
  private readonly currentId: string;

  /** `keys` first (the first is current), then `base`, current when there are none. */
  constructor(keys: readonly LocalKey[], base: LocalKey) {
    this.ring = new Map([base, ...keys].map((k) => [`${PREFIX}${k.name}`, k.key]));
    this.currentId = `${PREFIX}${(keys[0] ?? base).name}`;
  }

  owns(kekId: string): boolean {
    return this.ring.has(kekId);
  }

  async generateDataKey(binding: Binding): Promise<DataKey> {
    const plaintext = randomBytes(32);
    return { plaintext, wrapped: seal(this.kek(this.currentId), plaintext.toString("base64"), bindingAad(binding)), kekId: this.currentId };
  }

  async unwrap(wrapped: string, kekId: string, binding: Binding): Promise<Buffer> {
    return Buffer.from(open(this.kek(kekId), wrapped, bindingAad(binding)), "base64");
  }

  private kek(kekId: string): Buffer {
    const key = this.ring.get(kekId);
    if (!key) throw new Error(`no local key-encryption key ${kekId}`);
    return key;
  }
}
