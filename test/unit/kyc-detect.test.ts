import { Resvg } from "@resvg/resvg-js";
import { detectDocument } from "../../src/modules/kyc/documents/detect";
import { BadUserInputError } from "../../src/shared/errors";
import { bytesOfSize, jpegBytes, pdfBytes, pngBytes } from "../support/documents";

/** The problems detectDocument reported, or the type it recognised. */
async function outcome(bytes: Buffer, contentType: string, fileName = "document", prefix?: string) {
  try {
    return await detectDocument(bytes, { contentType, fileName }, prefix);
  } catch (error) {
    if (error instanceof BadUserInputError) return error.fields;
    throw error;
  }
}

/** The first pixel of an image as a real decoder (resvg's, through an SVG <image>) draws it; transparent when it cannot decode it. */
function firstPixel(mime: string, bytes: Buffer): number[] {
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="1" height="1"><image width="1" height="1" href="data:${mime};base64,${bytes.toString("base64")}"/></svg>`;
  return [...new Resvg(svg).render().pixels.subarray(0, 4)];
}

/** The objects a PDF's cross-reference table points at (each offset must start `N 0 obj`). */
function pdfObjectsAtOffsets(pdf: Buffer): string[] {
  const text = pdf.toString("latin1");
  const xref = Number(/startxref\n(\d+)\n%%EOF\n$/.exec(text)?.[1]);
  const entries = [...text.slice(xref).matchAll(/^(\d{10}) 00000 n $/gm)].map((m) => Number(m[1]));
  return entries.map((offset) => text.slice(offset, text.indexOf("\n", offset)));
}

const EXE = Buffer.from("4d5a90000300000004000000ffff0000b800000000000000400000000000000000000000", "hex");

describe("the test documents", () => {
  it("are images a decoder reads: a red PNG pixel, a grey JPEG one, also when padded to a size", () => {
    expect(firstPixel("image/png", pngBytes())).toEqual([255, 0, 0, 255]);
    expect(firstPixel("image/jpeg", jpegBytes())).toEqual([128, 128, 128, 255]);
    expect(firstPixel("image/png", bytesOfSize("image/png", 70_000))).toEqual([255, 0, 0, 255]);
    expect(firstPixel("image/jpeg", bytesOfSize("image/jpeg", 200_003))).toEqual([128, 128, 128, 255]);
    expect(firstPixel("image/png", Buffer.from("not a png"))).toEqual([0, 0, 0, 0]);
  });

  it("make a PDF whose cross-reference table is right and whose text is in clear", () => {
    const pdf = pdfBytes("SANDBOX-REJECT (a) \\ b");
    expect(pdf.toString("latin1")).toContain("(SANDBOX-REJECT \\(a\\) \\\\ b) Tj");
    expect(pdf.includes("SANDBOX-REJECT")).toBe(true);
    expect(pdfObjectsAtOffsets(pdf)).toEqual(["1 0 obj", "2 0 obj", "3 0 obj", "4 0 obj", "5 0 obj"]);
    expect(pdfObjectsAtOffsets(bytesOfSize("application/pdf", 12_345))).toEqual(["1 0 obj", "2 0 obj", "3 0 obj", "4 0 obj", "5 0 obj"]);
  });

  it.each(["image/png", "image/jpeg", "application/pdf"] as const)("pads a %s to exactly the size asked for", async (mime) => {
    const smallest = { "image/png": pngBytes(), "image/jpeg": jpegBytes(), "application/pdf": pdfBytes("padded") }[mime].length;
    for (const n of [smallest, smallest + 24, smallest + 81, smallest + 65_537, smallest + 65_539, 10 * 1024 * 1024]) {
      const file = bytesOfSize(mime, n);
      expect(file.length).toBe(n);
      expect(await detectDocument(file, { contentType: mime, fileName: "padded" })).toBe(mime);
    }
    expect(() => bytesOfSize(mime, smallest - 1)).toThrow(/cannot be made/);
    expect(() => bytesOfSize(mime, smallest + 1)).toThrow(/cannot be made/);
  });
});

describe("detectDocument", () => {
  it.each([
    ["image/png", pngBytes()],
    ["image/jpeg", jpegBytes()],
    ["application/pdf", pdfBytes("hello")],
  ])("recognises a %s by its bytes", async (mime, bytes) => {
    expect(await outcome(bytes, mime)).toBe(mime);
    expect(await outcome(bytes, `${mime.toUpperCase()}; charset=binary`)).toBe(mime);
  });

  it("never takes the type from the file name", async () => {
    expect(await outcome(pngBytes(), "image/png", "scan.exe")).toBe("image/png");
    expect(await outcome(EXE, "image/png", "scan.png")).toEqual([{ field: "input.contentBase64", message: "the document is of type EXE (application/x-msdownload), not a JPEG, PNG or PDF" }]);
  });

  it.each([
    ["an empty file", Buffer.alloc(0), "the document is empty, not a JPEG, PNG or PDF"],
    ["HTML named .pdf", Buffer.from("<!doctype html><html><body><script>alert(1)</script></body></html>"), "the document is of an unknown type, not a JPEG, PNG or PDF"],
    ["a GIF with a PDF inside (a polyglot)", Buffer.concat([Buffer.from("GIF89a\x01\x00\x01\x00\x00\x00\x00;", "latin1"), pdfBytes("hidden")]), "the document is of type GIF (image/gif), not a JPEG, PNG or PDF"],
    ["a ZIP starting like one and holding a PDF", Buffer.concat([Buffer.from("PK\x03\x04", "latin1"), Buffer.alloc(26), pdfBytes("hidden")]), "the document is of type ZIP (application/zip), not a JPEG, PNG or PDF"],
  ])("refuses %s on contentBase64", async (_what, bytes, message) => {
    expect(await outcome(bytes, "application/pdf", "passport.pdf")).toEqual([{ field: "input.contentBase64", message }]);
  });

  it("refuses a declared type that the bytes contradict, on contentType", async () => {
    expect(await outcome(pdfBytes("x"), "image/png")).toEqual([{ field: "input.contentType", message: "declared image/png but the content is a PDF" }]);
    expect(await outcome(jpegBytes(), "image/jpg")).toEqual([{ field: "input.contentType", message: "declared image/jpg but the content is a JPEG" }]);
  });

  it.each([
    ["../../etc/passwd", "must not contain path separators or control characters"],
    ["C:\\scan.png", "must not contain path separators or control characters"],
    ["scan\u0000.png", "must not contain path separators or control characters"],
    ["scan\u202egnp.exe", "must not contain path separators or control characters"],
    ["", "must be 1 to 255 characters"],
    [`${"a".repeat(252)}.png`, "must be 1 to 255 characters"],
  ])("refuses the file name %j on fileName", async (fileName, message) => {
    expect(await outcome(pngBytes(), "image/png", fileName)).toEqual([{ field: "input.fileName", message }]);
  });

  it("accepts a file name of 255 characters, and reports every problem at once, under the prefix given", async () => {
    expect(await outcome(pngBytes(), "image/png", `${"a".repeat(251)}.png`)).toBe("image/png");
    expect(await outcome(pngBytes(), "application/pdf", "a/b", "")).toEqual([
      { field: "fileName", message: "must not contain path separators or control characters" },
      { field: "contentType", message: "declared application/pdf but the content is a PNG" },
    ]);
  });
});
