import bcrypt from "bcrypt";

/**
 * bcrypt through the library's asynchronous API, which hashes on libuv's thread pool: the event
 * loop never waits for it. At most `maxConcurrent` hashes run at once, so that a login storm
 * leaves pool threads to everything else that needs them (WebCrypto signatures of every token,
 * DNS, files). Inputs are checked against bcrypt's 72-byte limit by the password policy first.
 */
export class PasswordHasher {
  /** Verified against when the account does not exist, so that path costs the same time. */
  private readonly dummy: Promise<string>;
  private running = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(
    readonly cost: number,
    private readonly maxConcurrent = 2,
  ) {
    this.dummy = bcrypt.hash("identity-subgraph dummy password", cost);
  }

  hash(password: string): Promise<string> {
    return this.limited(() => bcrypt.hash(password, this.cost));
  }

  /** Compares with the stored hash, or with a dummy hash when there is none (same cost, same time). */
  async verify(password: string, hash: string | null | undefined): Promise<boolean> {
    const against = hash ?? (await this.dummy);
    const matches = await this.limited(() => bcrypt.compare(password, against));
    return matches && hash !== null && hash !== undefined;
  }

  private async limited<T>(work: () => Promise<T>): Promise<T> {
    if (this.running >= this.maxConcurrent) await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.running += 1;
    try {
      return await work();
    } finally {
      this.running -= 1;
      this.waiting.shift()?.();
    }
  }
}
