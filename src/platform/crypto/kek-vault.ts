import { bindingAad, type Binding, type DataKey, type KekProvider } from "./vault";

const PREFIX = "vault-transit:";

/**
 * HashiCorp Vault transit: `datakey/plaintext/<key>` makes a data key and `decrypt/<key>` unwraps
 * it, with the binding as the `context` (the transit key is created with `derived: true`, so a
 * data key opens only with the context it was made under). The key id stored names the transit
 * key and its version (`vault-transit:<key>:v<N>`): after `keys/<key>/rotate`, keys:rewrap moves
 * the records to the new version.
 */
export class VaultTransitKekProvider implements KekProvider {
  constructor(
    private readonly address: string,
    private readonly token: string,
    private readonly keyName: string,
  ) {}

  owns(kekId: string): boolean {
    return kekId.startsWith(PREFIX);
  }

  async generateDataKey(binding: Binding): Promise<DataKey> {
    const data = await this.call(`datakey/plaintext/${encodeURIComponent(this.keyName)}`, { bits: 256, context: context(binding) });
    if (typeof data.plaintext !== "string" || typeof data.ciphertext !== "string" || typeof data.key_version !== "number") throw new Error("Vault transit datakey answered without a key");
    return { plaintext: Buffer.from(data.plaintext, "base64"), wrapped: data.ciphertext, kekId: `${PREFIX}${this.keyName}:v${data.key_version}` };
  }

  async unwrap(wrapped: string, kekId: string, binding: Binding): Promise<Buffer> {
    const keyName = kekId.slice(PREFIX.length).replace(/:v\d+$/, "");
    const data = await this.call(`decrypt/${encodeURIComponent(keyName)}`, { ciphertext: wrapped, context: context(binding) });
    if (typeof data.plaintext !== "string") throw new Error("Vault transit decrypt answered without a plaintext");
    return Buffer.from(data.plaintext, "base64");
  }

  private async call(path: string, body: object): Promise<Record<string, unknown>> {
    const response = await fetch(new URL(`/v1/transit/${path}`, this.address), {
      method: "POST",
      headers: { "content-type": "application/json", "x-vault-token": this.token },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(10_000),
    });
    const json = (await response.json().catch(() => ({}))) as { data?: Record<string, unknown>; errors?: unknown[] };
    if (!response.ok || !json.data) throw new Error(`Vault transit ${path.split("/")[0]} failed: HTTP ${response.status}${json.errors ? ` ${JSON.stringify(json.errors)}` : ""}`);
    return json.data;
  }
}

const context = (binding: Binding): string => Buffer.from(bindingAad(binding)).toString("base64");
