import { crc32, deflateSync } from "node:zlib";
import type { DocumentMime } from "../../src/modules/kyc/kyc.model";

/**
 * Tiny valid documents built here, so tests need no fixture files: a 1x1 red PNG, a 1x1 grey
 * baseline JPEG, a one-page PDF showing a line of text; and each of them padded to an exact size
 * with what its format sets aside for that (a PNG text chunk, JPEG comment segments, PDF comment
 * lines), so the padded file is still valid.
 */

const u32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
};

/** A PNG chunk: length, type, data, CRC-32 of type and data. */
function pngChunk(type: string, data: Buffer): Buffer {
  const typed = Buffer.concat([Buffer.from(type, "latin1"), data]);
  return Buffer.concat([u32(data.length), typed, u32(crc32(typed))]);
}

const PNG_OVERHEAD = 12; // a chunk's length, type and CRC

/** `extra` more bytes in a tEXt chunk before IEND (at least PNG_OVERHEAD + 2 when not 0). */
function png(extra: number): Buffer {
  const header = Buffer.concat([u32(1), u32(1), Buffer.from([8, 2, 0, 0, 0])]); // 1x1, 8-bit RGB
  const scanline = Buffer.from([0, 0xff, 0, 0]); // filter 0, one red pixel
  const text = extra === 0 ? [] : [pngChunk("tEXt", Buffer.concat([Buffer.from("Comment\0"), Buffer.alloc(extra - PNG_OVERHEAD - 8, "x")]))];
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), pngChunk("IHDR", header), pngChunk("IDAT", deflateSync(scanline)), ...text, pngChunk("IEND", Buffer.alloc(0))]);
}

const segment = (marker: number, data: Buffer) => Buffer.concat([Buffer.from([0xff, marker, (data.length + 2) >> 8, (data.length + 2) & 0xff]), data]);

/**
 * A 1x1 grey baseline JPEG: one component, quantisation all 1, and Huffman tables of one code each
 * (DC: difference category 0; AC: end of block), so the one block's data is the bits `00`, padded
 * with ones. `extra` more bytes go in COM segments after the JFIF header.
 */
function jpeg(extra: number): Buffer {
  const comments: Buffer[] = [];
  for (let left = extra; left > 0; ) {
    const size = Math.min(left, 65_535 + 2);
    if (size < 4) throw new Error("a JPEG comment segment takes at least 4 bytes");
    // Keep the rest representable: a remainder of 1 to 3 bytes would not fit a segment.
    const take = left - size > 0 && left - size < 4 ? size - 4 : size;
    comments.push(segment(0xfe, Buffer.alloc(take - 4, "x")));
    left -= take;
  }
  const huffman = (tableClass: number) => Buffer.concat([Buffer.from([tableClass << 4, 1]), Buffer.alloc(15), Buffer.from([0x00])]);
  return Buffer.concat([
    Buffer.from([0xff, 0xd8]),
    segment(0xe0, Buffer.from([0x4a, 0x46, 0x49, 0x46, 0x00, 1, 1, 0, 0, 1, 0, 1, 0, 0])), // JFIF 1.1, no thumbnail
    ...comments,
    segment(0xdb, Buffer.concat([Buffer.from([0]), Buffer.alloc(64, 1)])),
    segment(0xc0, Buffer.from([8, 0, 1, 0, 1, 1, 1, 0x11, 0])),
    segment(0xc4, Buffer.concat([huffman(0), huffman(1)])),
    segment(0xda, Buffer.from([1, 1, 0x00, 0, 63, 0])),
    Buffer.from([0x3f, 0xff, 0xd9]),
  ]);
}

/**
 * A one-page PDF drawing `text` with Helvetica, its content stream uncompressed; `extra` bytes of
 * comment lines after the header. Every offset is written in 10 digits (startxref too: PDF integers
 * may have leading zeros), so the file grows by exactly the padding.
 */
function pdf(text: string, extra: number): Buffer {
  if (!/^[\x20-\x7e]*$/.test(text)) throw new Error("pdfBytes takes printable ASCII text");
  const shown = text.replace(/[\\()]/g, (c) => `\\${c}`);
  const content = `BT /F1 12 Tf 20 20 Td (${shown}) Tj ET`;
  const objects = [
    "<< /Type /Catalog /Pages 2 0 R >>",
    "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
    "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 72] /Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
    "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    `<< /Length ${content.length} >>\nstream\n${content}\nendstream`,
  ];
  let out = `%PDF-1.4\n${padding(extra)}`;
  const offsets = objects.map((body, i) => {
    const offset = out.length;
    out += `${i + 1} 0 obj\n${body}\nendobj\n`;
    return offset;
  });
  const xref = out.length;
  out += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n${offsets.map((o) => `${String(o).padStart(10, "0")} 00000 n \n`).join("")}`;
  out += `trailer\n<< /Size ${objects.length + 1} /Root 1 0 R >>\nstartxref\n${String(xref).padStart(10, "0")}\n%%EOF\n`;
  return Buffer.from(out, "latin1");
}

/** Exactly `n` bytes of PDF comment lines (`%xxx…\n`, at most 80 bytes a line). */
function padding(n: number): string {
  if (n === 1) throw new Error("a PDF comment line takes at least 2 bytes");
  const lines: string[] = [];
  for (let left = n; left > 0; ) {
    const size = left - 80 === 1 ? 79 : Math.min(left, 80);
    lines.push(`%${"x".repeat(size - 2)}\n`);
    left -= size;
  }
  return lines.join("");
}

export const pngBytes = (): Buffer => png(0);
export const jpegBytes = (): Buffer => jpeg(0);
/** A valid PDF whose page shows `text` (printable ASCII), which appears in clear in the file. */
export const pdfBytes = (text: string): Buffer => pdf(text, 0);

/** A valid file of type `mime` of exactly `n` bytes (n at least a few dozen bytes over the smallest file). */
export function bytesOfSize(mime: DocumentMime, n: number): Buffer {
  const make = { "image/png": png, "image/jpeg": jpeg, "application/pdf": (extra: number) => pdf("padded", extra) }[mime];
  const smallest = make(0).length;
  if (n !== smallest && n < smallest + 24) throw new Error(`a valid ${mime} of ${n} bytes cannot be made here; ask for ${smallest} or at least ${smallest + 24}`);
  return make(n - smallest);
}
