import { DecryptCommand, GenerateDataKeyCommand, type KMSClient } from "@aws-sdk/client-kms";
import type { Binding, DataKey, KekProvider } from "./vault";

const PREFIX = "aws-kms:";

/**
 * AWS KMS: `GenerateDataKey` (AES_256) under `keyId` and `Decrypt` with the key id it reported,
 * both with the binding as the EncryptionContext, which KMS requires to match exactly on Decrypt
 * (and records in CloudTrail). The key id stored is the key's ARN, so repointing an alias leaves
 * old records opening under their own key.
 */
export class AwsKmsKekProvider implements KekProvider {
  constructor(
    private readonly client: KMSClient,
    private readonly keyId: string,
  ) {}

  owns(kekId: string): boolean {
    return kekId.startsWith(PREFIX);
  }

  async generateDataKey(binding: Binding): Promise<DataKey> {
    const out = await this.client.send(new GenerateDataKeyCommand({ KeyId: this.keyId, KeySpec: "AES_256", EncryptionContext: context(binding) }));
    if (!out.Plaintext || !out.CiphertextBlob || !out.KeyId) throw new Error("AWS KMS GenerateDataKey answered without a key");
    return { plaintext: Buffer.from(out.Plaintext), wrapped: Buffer.from(out.CiphertextBlob).toString("base64"), kekId: `${PREFIX}${out.KeyId}` };
  }

  async unwrap(wrapped: string, kekId: string, binding: Binding): Promise<Buffer> {
    const out = await this.client.send(new DecryptCommand({ CiphertextBlob: Buffer.from(wrapped, "base64"), KeyId: kekId.slice(PREFIX.length), EncryptionContext: context(binding) }));
    if (!out.Plaintext) throw new Error("AWS KMS Decrypt answered without a plaintext");
    return Buffer.from(out.Plaintext);
  }
}

const context = ({ owner, purpose }: Binding): Record<string, string> => ({ owner, purpose });
