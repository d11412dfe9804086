import { KMSClient } from "@aws-sdk/client-kms";
import type { Config } from "../../config";
import { AwsKmsKekProvider } from "./kek-aws";
import { LocalKekProvider, keyEncryptionKeyAsKek } from "./kek-local";
import { VaultTransitKekProvider } from "./kek-vault";
import { KeyVault, legacySigningKeysKey, type KekProvider } from "./vault";

type VaultConfig = Pick<Config, "KMS_PROVIDER" | "KMS_MASTER_KEY" | "LOCAL_KMS_KEY_PATH" | "KMS_MASTER_KEY_ID" | "KMS_ENDPOINT" | "VAULT_ADDR" | "VAULT_TOKEN" | "KEY_ENCRYPTION_KEY">;

/**
 * The vault of the configured KMS_PROVIDER. The local ring (KMS_MASTER_KEY or LOCAL_KMS_KEY_PATH,
 * then KEY_ENCRYPTION_KEY) is always there to open what it wrapped, so a move to another provider
 * or key is a configuration change followed by keys:rewrap.
 */
export function createKeyVault(config: VaultConfig): KeyVault {
  const local = new LocalKekProvider([...config.KMS_MASTER_KEY, ...config.LOCAL_KMS_KEY_PATH], keyEncryptionKeyAsKek(config.KEY_ENCRYPTION_KEY));
  const current = (): KekProvider => {
    // The config refuses aws and vault without these.
    const keyId = config.KMS_MASTER_KEY_ID as string;
    if (config.KMS_PROVIDER === "aws") return new AwsKmsKekProvider(new KMSClient(config.KMS_ENDPOINT ? { endpoint: config.KMS_ENDPOINT } : {}), keyId);
    return new VaultTransitKekProvider(config.VAULT_ADDR as string, config.VAULT_TOKEN as string, keyId);
  };
  return new KeyVault(config.KMS_PROVIDER === "local" ? [local] : [current(), local], legacySigningKeysKey(config.KEY_ENCRYPTION_KEY));
}
