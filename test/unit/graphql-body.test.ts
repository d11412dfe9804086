import { AsyncLocalStorage } from "node:async_hooks";
import { EventEmitter } from "node:events";
import { PassThrough, Readable } from "node:stream";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { gzipSync } from "node:zlib";
import type { IncomingMessage, ServerResponse } from "node:http";
import { parse } from "graphql";
import { BodyRefusal, graphqlBody, onlyMutationOf, type GraphqlBodyOptions } from "../../src/http/graphql-body";
import { JsonBodyReader } from "../../src/http/json-body-reader";

const PATH = ["variables", "input", "contentBase64"];
const TOO_LARGE = "The document is larger than MAX_DOCUMENT_SIZE_MB (test)";
const ESCAPED = "Request body: variables.input.contentBase64 is base64, which needs no escape but \\/";
/** Only a request that may be authorised gets the large value (tests of the rule itself leave it out). */
const SIGNED = { authorization: "Bearer a-token" };

interface Outcome {
  refusal?: BodyRefusal;
  body?: unknown;
  /** Chunks the reader pulled from the request. */
  reads: number;
  /** The reader pulled a chunk past `readable` (the request then fails). */
  readPast: boolean;
}

/**
 * Runs the reader over a request whose body arrives as `chunks`, one a read. Past `readable`
 * chunks the request fails as soon as it is read further, so a refusal that comes from the chunks
 * before shows that the rest was never read.
 */
function run(options: GraphqlBodyOptions, chunks: Buffer[], { headers = {}, readable = Infinity }: { headers?: Record<string, string>; readable?: number } = {}): Promise<Outcome> {
  let reads = 0;
  let readPast = false;
  const stream = new Readable({
    highWaterMark: 0,
    read() {
      if (reads >= readable) {
        readPast = true;
        this.destroy(new Error("read past the refusal"));
        return;
      }
      this.push(chunks[reads] ?? null);
      reads += 1;
    },
  });
  const total = chunks.reduce((n, c) => n + c.length, 0);
  const req = Object.assign(stream, { headers: { "content-type": "application/json", "content-length": String(total), ...SIGNED, ...headers } });
  const res = new EventEmitter();
  return graphqlBody(options)(req as unknown as IncomingMessage, res as unknown as ServerResponse).then(
    (body) => ({ refusal: undefined, body, reads, readPast }),
    (error: unknown) => {
      if (!(error instanceof BodyRefusal)) throw error;
      return { refusal: error, body: undefined, reads, readPast };
    },
  );
}

const at = (text: string | Buffer, ...cuts: number[]): Buffer[] => {
  const bytes = Buffer.from(text);
  const points = [0, ...cuts, bytes.length];
  return points.slice(1).map((end, i) => bytes.subarray(points[i], end));
};
const bytesOf = (text: string | Buffer) => [...Buffer.from(text)].map((b) => Buffer.from([b]));
/** Every way of cutting `text` in two, and byte by byte. */
const splits = (text: string | Buffer): Buffer[][] => [...Array.from({ length: Buffer.byteLength(text) + 1 }, (_, cut) => at(text, cut)), bytesOf(text)];

const plain: GraphqlBodyOptions = { limitBytes: 10_000 };
const withLarge = (limitBytes: number, maxBytes: number, allowedWhen: (body: unknown) => boolean = () => true): GraphqlBodyOptions => ({
  limitBytes,
  largeValue: { path: PATH, maxBytes, tooLarge: TOO_LARGE, allowedWhen },
});
const upload = (content: string, more = "") => `{"query":"mutation { uploadVerificationDocument }","variables":{"input":{"contentBase64":${content}${more}}}}`;

const VALID = [
  `{}`,
  `[]`,
  ` \t\r\n{ "a" : [ 1 , -0 , 0.5 , -12.5e-3 , 1E+2 , 7e9 , true , false , null , { } , [ ] ] } \n`,
  `{"escapes":"\\" \\\\ \\/ \\b \\f \\n \\r \\t \\u0041\\u00e9\\u20AC \\ud83d\\ude00 lone \\ud800 end"}`,
  `{"raw":"é € 😀 ü","nested":{"a":{"b":{"c":[[[{"d":"deep"}]]]}}}}`,
  `{"dup":1,"dup":2,"__proto__":{"polluted":true},"n":123456789012345678901234567890}`,
  `\ufeff{"bom":"skipped"}`,
  `[{"query":"{ a }"},{"query":"{ b }"}]`,
];

const INVALID = [
  `   `,
  `"a string"`,
  `42`,
  `null`,
  `{"a":01}`,
  `{"a":1.}`,
  `{"a":.5}`,
  `{"a":-}`,
  `{"a":1e}`,
  `{"a":+1}`,
  `{"a":tru}`,
  `{"a":nul}`,
  `{"a":"\u0001"}`,
  `{"a":"\\q"}`,
  `{"a":"\\u12G4"}`,
  `{"a":"\\u12"}`,
  `{"a":1,}`,
  `[1,]`,
  `{"a" 1}`,
  `{,}`,
  `{"a":1}}`,
  `{"a":1} x`,
  `{"a":[1,2}`,
  `{"a":1]`,
  `{'a':1}`,
  `{"a":"unterminated}`,
  `{"a":{"b":1}`,
  `\ufeff\ufeff{}`,
];

describe("the JSON reader", () => {
  it.each(VALID)("reads %j as JSON.parse does, however the body is cut into chunks", async (text) => {
    const expected = JSON.parse(text.replace(/^\ufeff/, ""));
    for (const chunks of splits(text)) {
      const { body, refusal } = await run(plain, chunks);
      expect(refusal).toBeUndefined();
      expect(body).toEqual(expected);
    }
  });

  it("keeps __proto__ an own key, never the prototype (as JSON.parse does)", async () => {
    const { body } = await run(plain, at(`{"__proto__":{"polluted":true}}`));
    expect(Object.hasOwn(body as object, "__proto__")).toBe(true);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.getPrototypeOf(body)).toBe(Object.prototype);
  });

  it.each(INVALID)("refuses %j with 400, however the body is cut into chunks", async (text) => {
    for (const chunks of splits(text)) {
      const { refusal } = await run(plain, chunks);
      expect(refusal).toMatchObject({ status: 400, message: "Request body is not valid JSON" });
    }
  });

  it("takes an empty body (or a lone BOM) for {}, as express.json does", async () => {
    expect((await run(plain, [])).body).toEqual({});
    expect((await run(plain, at("\ufeff", 1, 2))).body).toEqual({});
    expect((await run(plain, [Buffer.from([0xef])])).refusal?.status).toBe(400);
  });

  it("agrees with JSON.parse on 3000 mutated bodies (accepting the same ones, with the same values), with a large value or without", async () => {
    let seed = 0x5eed;
    const random = (n: number) => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed % n;
    };
    const alphabet = [..."{}[]:,\"\\ 0123456789.eE+-tfnrula/", "\\u00", "\\ud83d", "é", "\ufeff"];
    const pool = [...VALID, upload(`"AB\\/+é"`, `,"n":[1,2]`)];
    let accepted = 0;
    for (let round = 0; round < 3000; round += 1) {
      let text = pool[random(pool.length)] as string;
      for (let edits = 1 + random(3); edits > 0; edits -= 1) {
        const where = random(text.length + 1);
        const kind = random(3);
        text = text.slice(0, where) + (kind === 2 ? "" : alphabet[random(alphabet.length)]) + text.slice(kind === 0 ? where : where + 1);
      }
      const large = round % 2 === 1;
      // The large value takes no escape but \/: a body JSON.parse accepts is refused for one, and only for one.
      const expected = large && ESCAPE_IN_LARGE.test(text) ? "refused" : oracle(text);
      const cut = random(Buffer.byteLength(text) + 1);
      const { body, refusal } = await run(large ? withLarge(10_000, 10_000) : plain, at(text, cut));
      expect([text, refusal ? "refused" : body]).toEqual([text, expected]);
      if (!refusal) accepted += 1;
    }
    expect(accepted).toBeGreaterThan(300);
  });
});

/** The first `contentBase64` string with an escape other than `\/` in it (what the fuzzed bodies' large value may hold). */
const ESCAPE_IN_LARGE = /"variables":\{"input":\{"contentBase64":"(?:[^"\\]|\\\/)*\\[^/]/;

/** What express.json makes of a body: JSON.parse's value of an object or array (a leading BOM skipped, an empty body {}), or "refused". */
function oracle(text: string): unknown {
  const json = Buffer.from(text).toString("utf8").replace(/^\ufeff/, ""); // as sent: lone surrogates become U+FFFD
  if (json === "") return {};
  try {
    const value = JSON.parse(json) as unknown;
    return typeof value === "object" && value !== null ? value : "refused";
  } catch {
    return "refused";
  }
}

describe("the large value", () => {
  const tricky = `"AB\\/+\\/\\/ é€😀 x/y=="`;

  it("is decoded as JSON.parse decodes it, however the body is cut (\\/ and UTF-8 split across chunks)", async () => {
    const text = upload(tricky, `,"other":[1,{"contentBase64":"not this one"}]`);
    const expected = JSON.parse(text);
    for (const chunks of splits(text)) {
      const { body, refusal } = await run(withLarge(200, 100), chunks);
      expect(refusal).toBeUndefined();
      expect(body).toEqual(expected);
    }
  });

  it("takes no escape but \\/ (base64 needs no other): 400 naming the field; elsewhere in the body escapes are read as ever", async () => {
    for (const escape of [`\\u0041`, `\\"`, `\\\\`, `\\n`, `\\ud83d\\ude00`]) {
      const text = upload(`"AAAA${escape}AAAA"`);
      expect(JSON.parse(text)).toBeDefined();
      for (const chunks of [at(text), bytesOf(text)]) expect((await run(withLarge(200, 100), chunks)).refusal).toMatchObject({ status: 400, message: ESCAPED });
    }
    const elsewhere = upload(`"AB\\/CD"`, `,"name":"\\u0041\\"\\\\\\n"`);
    expect((await run(withLarge(200, 100), at(elsewhere, 60))).body).toEqual(JSON.parse(elsewhere));
  });

  it("is admitted past limitBytes only for a request with an Authorization header (an anonymous upload cannot succeed): 413 as if the limit applied", async () => {
    const big = upload(`"${"A".repeat(2000)}"`);
    expect((await run(withLarge(500, 3000), at(big, 100))).body).toEqual(JSON.parse(big));
    const anonymous = await run(withLarge(500, 3000), at(big, 100), { headers: { authorization: undefined as unknown as string } });
    expect(anonymous.refusal).toMatchObject({ status: 413, message: "Request body exceeds the limit of 500 bytes" });
    expect((await run(withLarge(500, 3000), at(upload(`"small"`)), { headers: { authorization: undefined as unknown as string } })).body).toEqual(JSON.parse(upload(`"small"`)));
  });

  it("holds a value full of \\/ in one buffer: the heap grows by less than 3x the body while it is read (not by a piece per escape)", async () => {
    setFlagsFromString("--expose-gc");
    const gc = runInNewContext("gc") as () => void;
    const MiB = 1024 * 1024;
    const body = Buffer.from(upload(`"${"\\/".repeat(4 * MiB)}"`));
    const chunks = Array.from({ length: Math.ceil(body.length / 65_536) }, (_, i) => body.subarray(i * 65_536, (i + 1) * 65_536));
    const used = () => {
      gc();
      const { heapUsed, arrayBuffers } = process.memoryUsage();
      return heapUsed + arrayBuffers;
    };
    const before = used();
    const reader = new JsonBodyReader({ limitBytes: 1000, largeValue: { path: PATH, maxBytes: 10 * MiB, tooLarge: TOO_LARGE } });
    for (const chunk of chunks) reader.write(chunk);
    // Everything read, the value not yet built: what the reader holds for it.
    const growth = used() - before;
    expect(growth).toBeLessThan(3 * body.length);
    const value = reader.end() as { variables: { input: { contentBase64: string } } };
    expect(value.variables.input.contentBase64).toBe("/".repeat(4 * MiB));
  });

  it("finds its path through keys written with escapes, as JSON.parse reads them", async () => {
    const text = `{"variabl\\u0065s":{"\\u0069nput":{"contentBase\\u0036\\u0034":"${"A".repeat(500)}"}}}`;
    for (const chunks of splits(text)) {
      const { body, refusal } = await run(withLarge(100, 500), chunks);
      expect(refusal).toBeUndefined();
      expect(body).toEqual(JSON.parse(text));
    }
  });

  it("may take maxBytes between its quotes, not one more: 413 with its own message", async () => {
    expect((await run(withLarge(200, 1000), at(upload(`"${"A".repeat(1000)}"`), 150, 700))).body).toEqual(JSON.parse(upload(`"${"A".repeat(1000)}"`)));
    const over = await run(withLarge(200, 1000), at(upload(`"${"A".repeat(1001)}"`), 150, 700));
    expect(over.refusal).toMatchObject({ status: 413, message: TOO_LARGE });
  });

  it("leaves the rest of the body to limitBytes: at the limit accepted, one more byte 413", async () => {
    const body = upload(`"${"A".repeat(5000)}"`, `,"pad":"`);
    const rest = Buffer.byteLength(body) - 5000 + 4; // with the closing quote and braces to come
    const exactly = `${body}${"x".repeat(300 - rest)}"}}}`;
    expect(Buffer.byteLength(exactly) - 5000).toBe(300);
    expect((await run(withLarge(300, 5000), at(exactly, 10, 2000))).refusal).toBeUndefined();
    const over = await run(withLarge(300, 5000), at(`${body}${"x".repeat(301 - rest)}"}}}`, 10, 2000));
    expect(over.refusal).toMatchObject({ status: 413, message: "Request body exceeds the limit of 300 bytes" });
  });

  it("is only the first string at the exact path: elsewhere, or a second one, counts like the rest", async () => {
    const big = `"${"A".repeat(1000)}"`;
    for (const text of [
      `{"variables":{"other":{"contentBase64":${big}}}}`,
      `{"x":{"variables":{"input":{"contentBase64":${big}}}}}`,
      `{"variables":{"input":[{"contentBase64":${big}}]}}`,
      `{"variables":{"input":{"contentBase64":[${big}]}}}`,
      `{"variables":{"input":{"contentBase64":"small","contentBase64":${big}}}}`,
      `{"contentBase64":${big}}`,
    ]) {
      expect([text.slice(0, 50), (await run(withLarge(500, 2000), at(text, 100))).refusal?.message]).toEqual([text.slice(0, 50), "Request body exceeds the limit of 500 bytes"]);
    }
  });

  it("gives way to a later duplicate key, as in JSON.parse", async () => {
    const text = `{"variables":{"input":{"contentBase64":"${"A".repeat(900)}","contentBase64":"last"}}}`;
    expect((await run(withLarge(200, 1000), at(text, 300))).body).toEqual({ variables: { input: { contentBase64: "last" } } });
  });

  it("refuses with 413 in the chunk that passes a limit, reading no further", async () => {
    const chunk = (c: string) => Buffer.from(c.repeat(1000));
    const head = Buffer.from(`{"variables":{"input":{"contentBase64":"`);
    // The large value passes its 3500 bytes in the fourth chunk of it; the fifth would fail the request.
    const large = await run(withLarge(1000, 3500), [head, chunk("A"), chunk("A"), chunk("A"), chunk("A"), chunk("A")], { readable: 5 });
    expect(large).toMatchObject({ refusal: { status: 413, message: TOO_LARGE }, reads: 5, readPast: false });
    // The rest passes 1000 bytes in the second chunk.
    const rest = await run(withLarge(1000, 3500), [Buffer.from(`{"pad":"`), chunk("x"), chunk("x"), chunk("x")], { readable: 2 });
    expect(rest).toMatchObject({ refusal: { status: 413, message: "Request body exceeds the limit of 1000 bytes" }, reads: 2, readPast: false });
    // Without the large value in the options, the same string counts like the rest.
    const none = await run({ limitBytes: 1000 }, [head, chunk("A"), chunk("A"), chunk("A")], { readable: 2 });
    expect(none).toMatchObject({ refusal: { status: 413 }, reads: 2, readPast: false });
  });

  it("is allowed past limitBytes only when allowedWhen accepts the parsed body, which is asked only then", async () => {
    const asked: unknown[] = [];
    const only = (answer: boolean) => (body: unknown) => (asked.push(body), answer);
    const big = upload(`"${"A".repeat(2000)}"`);
    expect((await run(withLarge(500, 3000, only(true)), at(big, 100))).body).toEqual(JSON.parse(big));
    expect((await run(withLarge(500, 3000, only(false)), at(big, 100))).refusal).toMatchObject({ status: 413, message: "Request body exceeds the limit of 500 bytes" });
    expect(asked).toEqual([JSON.parse(big), JSON.parse(big)]);
    // Under limitBytes in all, nobody asks.
    expect((await run(withLarge(500, 3000, only(false)), at(upload(`"small"`)))).body).toEqual(JSON.parse(upload(`"small"`)));
    expect(asked).toHaveLength(2);
  });
});

describe("the /graphql body reader", () => {
  it("leaves bodies of other types unread and undefined (Apollo answers them), and bodiless requests too", async () => {
    for (const headers of [{ "content-type": "text/plain" }, { "content-type": "application/graphql" }, { "content-type": "" }]) {
      const outcome = await run(plain, at(`{"query":"{ a }"}`), { headers, readable: 0 });
      expect(outcome).toEqual({ refusal: undefined, body: undefined, reads: 0, readPast: false });
    }
    expect(await run(plain, [], { headers: { "content-length": undefined as unknown as string } })).toMatchObject({ body: undefined, reads: 0 });
  });

  it("reads application/json whatever its case and parameters, in UTF-8 only", async () => {
    expect((await run(plain, at(`{"a":1}`), { headers: { "content-type": "Application/JSON; charset=\"UTF-8\"" } })).body).toEqual({ a: 1 });
    expect((await run(plain, at(`{"a":1}`), { headers: { "content-type": "application/json; charset=utf-16" }, readable: 0 })).refusal).toMatchObject({
      status: 415,
      message: "Request body charset utf-16 is not supported; send UTF-8",
    });
  });

  it("decompresses gzip and counts the bytes it gives, so a small bomb is refused as it inflates", async () => {
    const gzip = { "content-encoding": "gzip" };
    expect((await run(plain, [gzipSync(`{"a":"${"b".repeat(5000)}"}`)], { headers: gzip })).body).toEqual({ a: "b".repeat(5000) });
    const bomb = gzipSync(`{"a":"${"b".repeat(50 * 1024 * 1024)}"}`);
    expect(bomb.length).toBeLessThan(100_000);
    expect((await run(plain, [bomb], { headers: gzip })).refusal).toMatchObject({ status: 413 });
    expect((await run(plain, [Buffer.from("not gzip")], { headers: gzip })).refusal).toMatchObject({ status: 400, message: "Request body could not be read whole" });
    expect((await run(plain, at("{}"), { headers: { "content-encoding": "compress" }, readable: 0 })).refusal).toMatchObject({ status: 415 });
  });

  it("resolves in the request's async context (its request id), though the body comes from the stream's events", async () => {
    const scope = new AsyncLocalStorage<string>();
    const seen: (string | undefined)[] = [];
    const options = { limitBytes: 10 };
    for (const body of [`{"a":1}`, `{"a":"${"b".repeat(20)}"}`]) {
      const req = Object.assign(new PassThrough(), { headers: { "content-type": "application/json", "content-length": "1" } });
      const observe = () => void seen.push(scope.getStore());
      const done = scope.run("request-1", () => graphqlBody(options)(req as unknown as IncomingMessage, new EventEmitter() as unknown as ServerResponse).then(observe, observe));
      req.end(body); // from outside the request's context, as the socket's data comes
      await done;
    }
    expect(seen).toEqual(["request-1", "request-1"]);
  });

  it("answers a request that fails midway with 400", async () => {
    expect((await run(plain, at(`{"a":"bbbbbb"}`, 4, 8), { readable: 2 })).refusal).toMatchObject({ status: 400, message: "Request body could not be read whole" });
  });
});

describe("onlyMutationOf", () => {
  const only = onlyMutationOf("uploadVerificationDocument", (source) => parse(source, { maxTokens: 100 }));

  it.each([
    [`mutation { uploadVerificationDocument(input: $input) { id } }`, true],
    [`mutation Upload($input: UploadInput!) { doc: uploadVerificationDocument(input: $input) { id } }`, true],
    [`mutation { register(input: $input) { id } }`, false],
    [`mutation { uploadVerificationDocument { id } register { id } }`, false],
    [`mutation { ...F } fragment F on Mutation { uploadVerificationDocument { id } }`, false],
    [`mutation A { uploadVerificationDocument { id } } mutation B { register { id } }`, false],
    [`query { uploadVerificationDocument { id } }`, false],
    [`mutation { uploadVerificationDocument(`, false],
    [`mutation { uploadVerificationDocument { ${"a ".repeat(200)} } }`, false],
  ])("%s: %p", (query, expected) => {
    expect(only({ query })).toBe(expected);
  });

  it("is false for bodies without a query string", () => {
    for (const body of [{}, [], null, "x", { query: 1 }, [{ query: "mutation { uploadVerificationDocument }" }]]) expect(only(body)).toBe(false);
  });
});
