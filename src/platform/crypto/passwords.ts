import bcrypt from "bcrypt";

/**
 * bcrypt through the library's asynchronous API, which hashes on libuv's thread pool: the event
 * loop never waits for it. Inputs are checked against bcrypt's 72-byte limit by the password
 * policy before they reach here.
 */
export class PasswordHasher {
  /** Verified against when the account does not exist, so that path costs the same time. */
  private readonly dummy: Promise<string>;

  constructor(readonly cost: number) {
    this.dummy = bcrypt.hash("identity-subgraph dummy password", cost);
  }

  hash(password: string): Promise<string> {
    return bcrypt.hash(password, this.cost);
  }

  /** Compares with the stored hash, or with a dummy hash when there is none (same cost, same time). */
  async verify(password: string, hash: string | null | undefined): Promise<boolean> {
    const matches = await bcrypt.compare(password, hash ?? (await this.dummy));
    return matches && hash !== null && hash !== undefined;
  }
}
