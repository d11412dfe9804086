import { randomUUID } from "node:crypto";

/** A request body refused: the status and the message the caller gets (the app's HTTP error handler answers it). */
export class BodyRefusal extends Error {
  constructor(
    readonly status: 400 | 413 | 415,
    message: string,
  ) {
    super(message);
  }
}

/** One string value allowed past the body limit: the first string at `path` (object keys from the root). */
export interface LargeValue {
  path: readonly string[];
  /** Most bytes of the string as sent (between its quotes). */
  maxBytes: number;
  /** The message of the 413 once the string is longer. */
  tooLarge: string;
}

export interface ReaderLimits {
  /** Most bytes of the body, the large value's string aside. */
  limitBytes: number;
  largeValue?: LargeValue;
}

enum State {
  Bom,
  Start,
  Value,
  FirstValueOrEnd,
  FirstKeyOrEnd,
  Key,
  Colon,
  CommaOrEnd,
  String,
  Escape,
  Unicode,
  Literal,
  Minus,
  Zero,
  Integer,
  Point,
  Fraction,
  Exponent,
  ExponentSign,
  ExponentDigits,
  End,
}

/** Where the value about to start stands relative to the large value's path. */
enum Target {
  Elsewhere,
  OnThePath,
  TheLargeValue,
}

interface Frame {
  array: boolean;
  /** The keys from the root to this object are the start of the path (its keys are decoded then). */
  onPath: boolean;
}

const BOM = [0xef, 0xbb, 0xbf];
const LITERALS: Record<number, string> = { 0x74: "rue", 0x66: "alse", 0x6e: "ull" };
/** The characters after a backslash that make an escape (`"`, `\\`, `/`, b, f, n, r, t; `u` apart): JSON.parse decodes them. */
const ESCAPES = new Set([0x22, 0x5c, 0x2f, 0x62, 0x66, 0x6e, 0x72, 0x74]);
const isWhitespace = (b: number) => b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09;
const isDigit = (b: number) => b >= 0x30 && b <= 0x39;
const isHex = (b: number) => isDigit(b) || (b >= 0x61 && b <= 0x66) || (b >= 0x41 && b <= 0x46);
const notJson = () => new BodyRefusal(400, "Request body is not valid JSON");
export const overLimit = (limitBytes: number) => new BodyRefusal(413, `Request body exceeds the limit of ${limitBytes} bytes`);

/**
 * A JSON body read as it arrives, chunk by chunk: a state machine over the bytes that checks the
 * whole grammar (RFC 8259; the root an object or an array, as express.json's strict mode wants; a
 * leading UTF-8 BOM skipped) and counts the bytes, refusing with 413 in the chunk where a limit is
 * passed, so nothing more need be read.
 *
 * Everything but the large value is kept as it came, under `limitBytes`, and given to JSON.parse
 * at the end (the same value, errors and `__proto__` keys as express.json). The large value's
 * string is copied here instead, into one buffer that grows by doubling (never a piece per escape,
 * which would cost many times its size), decoded from UTF-8 once whole, and stands in the kept
 * text as a random placeholder that is swapped for it after parsing, if JSON.parse kept it there
 * (a later duplicate key wins, as always). The large value is base64, which needs no escape: only
 * `\/` (which some encoders write for `/`) is taken in it, any other is refused.
 */
export class JsonBodyReader {
  /** Bytes read so far. */
  bytes = 0;
  /** Bytes of the large value's string so far. */
  largeBytes = 0;
  private state = State.Bom;
  private bomBytes = 0;
  private readonly stack: Frame[] = [];
  private target = Target.Elsewhere;
  private readonly kept: Buffer[] = [];
  // The string being read.
  private stringIsKey = false;
  private keyParts: Buffer[] | null = null;
  private inLarge = false;
  private unicodeDigits = 0;
  private literal = "";
  private literalAt = 0;
  // The large value.
  private largeSeen = false;
  private large = Buffer.alloc(0);
  private largeLength = 0;
  private readonly placeholder = `large-value-${randomUUID()}`;

  constructor(private readonly limits: ReaderLimits) {}

  /** Reads one chunk; throws a BodyRefusal for bad JSON or a passed limit. */
  write(chunk: Buffer): void {
    const length = chunk.length;
    let keptFrom = 0; // the start of this chunk's bytes still to keep
    let keyFrom = 0; // the start of this chunk's part of a key being captured
    let runFrom = 0; // the start of the large string's unescaped bytes not yet copied
    let largeFrom = 0; // the start of this chunk's part of the large string
    for (let i = 0; i < length; i += 1) {
      const b = chunk[i] as number;
      switch (this.state) {
        case State.Bom:
          if (b === BOM[this.bomBytes]) {
            this.bomBytes += 1;
            keptFrom = i + 1;
            if (this.bomBytes === BOM.length) this.state = State.Start;
          } else if (this.bomBytes === 0) {
            this.state = State.Start;
            i -= 1;
          } else throw notJson();
          break;
        case State.Start:
          if (isWhitespace(b)) break;
          if (b !== 0x7b && b !== 0x5b) throw notJson();
          this.target = this.limits.largeValue ? Target.OnThePath : Target.Elsewhere;
          this.open(b);
          break;
        case State.Value:
        case State.FirstValueOrEnd:
          if (isWhitespace(b)) break;
          if (b === 0x5d && this.state === State.FirstValueOrEnd) {
            this.close();
          } else if (b === 0x22) {
            this.stringIsKey = false;
            this.state = State.String;
            if (this.target === Target.TheLargeValue && !this.largeSeen) {
              this.largeSeen = this.inLarge = true;
              this.kept.push(chunk.subarray(keptFrom, i + 1), Buffer.from(this.placeholder));
              runFrom = largeFrom = i + 1;
            }
          } else if (b === 0x7b || b === 0x5b) {
            this.open(b);
          } else if (LITERALS[b] !== undefined) {
            this.literal = LITERALS[b];
            this.literalAt = 0;
            this.state = State.Literal;
          } else if (b === 0x2d) {
            this.state = State.Minus;
          } else if (isDigit(b)) {
            this.state = b === 0x30 ? State.Zero : State.Integer;
          } else throw notJson();
          break;
        case State.FirstKeyOrEnd:
        case State.Key:
          if (isWhitespace(b)) break;
          if (b === 0x7d && this.state === State.FirstKeyOrEnd) {
            this.close();
          } else if (b === 0x22) {
            this.stringIsKey = true;
            this.state = State.String;
            if ((this.stack.at(-1) as Frame).onPath) {
              this.keyParts = [];
              keyFrom = i + 1;
            }
          } else throw notJson();
          break;
        case State.Colon:
          if (isWhitespace(b)) break;
          if (b !== 0x3a) throw notJson();
          this.state = State.Value;
          break;
        case State.CommaOrEnd: {
          if (isWhitespace(b)) break;
          const top = this.stack.at(-1) as Frame;
          if (b === 0x2c) {
            this.target = Target.Elsewhere;
            this.state = top.array ? State.Value : State.Key;
          } else if (b === (top.array ? 0x5d : 0x7d)) {
            this.close();
          } else throw notJson();
          break;
        }
        case State.String: {
          // The long run of plain characters, scanned in one tight loop.
          let j = i;
          while (j < length) {
            const c = chunk[j] as number;
            if (c === 0x22 || c === 0x5c || c < 0x20) break;
            j += 1;
          }
          i = j;
          if (j === length) break;
          const c = chunk[j] as number;
          if (c < 0x20) throw notJson();
          if (c === 0x5c) {
            if (this.inLarge) this.append(chunk, runFrom, j);
            this.state = State.Escape;
          } else if (this.inLarge) {
            this.append(chunk, runFrom, j);
            this.largeBytes += j - largeFrom;
            this.inLarge = false;
            keptFrom = j;
            this.valueDone();
          } else if (this.stringIsKey) {
            this.keyDone(chunk.subarray(keyFrom, j));
          } else {
            this.valueDone();
          }
          break;
        }
        case State.Escape:
          if (this.inLarge) {
            if (b !== 0x2f) throw new BodyRefusal(400, `Request body: ${(this.limits.largeValue as LargeValue).path.join(".")} is base64, which needs no escape but \\/`);
            this.append(chunk, i, i + 1);
            runFrom = i + 1;
            this.state = State.String;
            break;
          }
          if (b === 0x75) {
            this.unicodeDigits = 0;
            this.state = State.Unicode;
            break;
          }
          if (!ESCAPES.has(b)) throw notJson();
          this.state = State.String;
          break;
        case State.Unicode:
          if (!isHex(b)) throw notJson();
          this.unicodeDigits += 1;
          if (this.unicodeDigits < 4) break;
          this.state = State.String;
          break;
        case State.Literal:
          if (b !== this.literal.charCodeAt(this.literalAt)) throw notJson();
          this.literalAt += 1;
          if (this.literalAt === this.literal.length) this.valueDone();
          break;
        case State.Minus:
          if (!isDigit(b)) throw notJson();
          this.state = b === 0x30 ? State.Zero : State.Integer;
          break;
        case State.Point:
          if (!isDigit(b)) throw notJson();
          this.state = State.Fraction;
          break;
        case State.Exponent:
          if (b === 0x2b || b === 0x2d) this.state = State.ExponentSign;
          else if (isDigit(b)) this.state = State.ExponentDigits;
          else throw notJson();
          break;
        case State.ExponentSign:
          if (!isDigit(b)) throw notJson();
          this.state = State.ExponentDigits;
          break;
        case State.Zero:
        case State.Integer:
        case State.Fraction:
        case State.ExponentDigits:
          if (isDigit(b) && this.state !== State.Zero) break;
          if (b === 0x2e && this.state !== State.Fraction && this.state !== State.ExponentDigits) this.state = State.Point;
          else if ((b === 0x65 || b === 0x45) && this.state !== State.ExponentDigits) this.state = State.Exponent;
          else {
            // The number ended on this byte, which is read again after it.
            this.valueDone();
            i -= 1;
          }
          break;
        case State.End:
          if (!isWhitespace(b)) throw notJson();
          break;
      }
    }
    const inString = this.state === State.String || this.state === State.Escape || this.state === State.Unicode;
    if (this.inLarge) {
      if (this.state === State.String) this.append(chunk, runFrom, length);
      this.largeBytes += length - largeFrom;
    } else {
      this.kept.push(chunk.subarray(keptFrom));
    }
    if (inString && this.stringIsKey && this.keyParts) this.keyParts.push(chunk.subarray(keyFrom));
    this.bytes += length;
    const large = this.limits.largeValue;
    if (large && this.largeBytes > large.maxBytes) throw new BodyRefusal(413, large.tooLarge);
    if (this.bytes - this.largeBytes > this.limits.limitBytes) throw overLimit(this.limits.limitBytes);
  }

  /** The body's value once every chunk is read; throws a BodyRefusal when it is not whole JSON. */
  end(): unknown {
    // An empty body (a BOM at most) is {}, as express.json has it.
    if ((this.state === State.Bom && this.bytes === 0) || (this.state === State.Start && this.bytes === this.bomBytes)) return {};
    if (this.state !== State.End) throw notJson();
    let value: unknown;
    try {
      value = JSON.parse(Buffer.concat(this.kept).toString("utf8"));
    } catch {
      throw notJson();
    }
    if (this.largeSeen) this.putLargeValue(value, (this.limits.largeValue as LargeValue).path);
    return value;
  }

  private putLargeValue(value: unknown, path: readonly string[]): void {
    let node = value;
    for (const key of path.slice(0, -1)) node = isObject(node) && Object.hasOwn(node, key) ? node[key] : undefined;
    const last = path.at(-1) as string;
    if (isObject(node) && Object.hasOwn(node, last) && node[last] === this.placeholder) node[last] = this.large.toString("utf8", 0, this.largeLength);
  }

  /** Copies the large value's bytes `from`–`to` of `chunk` into its buffer, doubling it as needed (up to maxBytes: it holds no more than that was sent). */
  private append(chunk: Buffer, from: number, to: number): void {
    const needed = this.largeLength + (to - from);
    if (needed > this.large.length) {
      const large = this.limits.largeValue as LargeValue;
      if (needed > large.maxBytes) throw new BodyRefusal(413, large.tooLarge);
      const grown = Buffer.allocUnsafe(Math.min(large.maxBytes, Math.max(needed, 2 * this.large.length, 64 * 1024)));
      this.large.copy(grown, 0, 0, this.largeLength);
      this.large = grown;
    }
    this.largeLength += chunk.copy(this.large, this.largeLength, from, to);
  }

  private open(b: number): void {
    this.stack.push({ array: b === 0x5b, onPath: b === 0x7b && this.target === Target.OnThePath });
    this.state = b === 0x5b ? State.FirstValueOrEnd : State.FirstKeyOrEnd;
    this.target = Target.Elsewhere;
  }

  private close(): void {
    this.stack.pop();
    this.valueDone();
  }

  private valueDone(): void {
    this.state = this.stack.length === 0 ? State.End : State.CommaOrEnd;
    this.target = Target.Elsewhere;
  }

  /** A key ends at `last`'s end: when it was captured (its object is on the path), where its value stands. */
  private keyDone(last: Buffer): void {
    this.state = State.Colon;
    if (!this.keyParts) return;
    // The key's text was checked above; JSON.parse decodes its escapes.
    const key = JSON.parse(`"${Buffer.concat([...this.keyParts, last]).toString("utf8")}"`) as string;
    this.keyParts = null;
    const path = (this.limits.largeValue as LargeValue).path;
    const depth = this.stack.length - 1;
    this.target = key !== path[depth] ? Target.Elsewhere : depth === path.length - 1 ? Target.TheLargeValue : Target.OnThePath;
  }
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === "object" && value !== null && !Array.isArray(value);
