import { fileTypeFromBuffer } from "file-type";
import { BadUserInputError } from "../../../shared/errors";
import { InputCheck } from "../../../shared/input-check";
import { DOCUMENT_MIME_TYPES, type DocumentMime } from "../kyc.model";

const NAMES: Record<DocumentMime, string> = { "image/jpeg": "JPEG", "image/png": "PNG", "application/pdf": "PDF" };
const isDocumentMime = (mime: string): mime is DocumentMime => (DOCUMENT_MIME_TYPES as readonly string[]).includes(mime);
/** Path separators, and control and format characters (what InputCheck refuses in text too). */
const UNSAFE_NAME = /[/\\\p{Cc}\p{Cf}]/u;
const MAX_FILE_NAME = 255;

/**
 * What a document is, by its bytes alone (file-type's signatures): a JPEG, PNG or PDF, or
 * BAD_USER_INPUT. The caller's `contentType` must name the same type; its `fileName` is a label,
 * never trusted for the type (only its length and characters are checked). Every problem is
 * reported at once, on `<prefix>.contentBase64`, `<prefix>.contentType` and `<prefix>.fileName`
 * (bare names when `prefix` is empty).
 */
export async function detectDocument(bytes: Buffer, declared: { contentType: string; fileName: string }, prefix = "input"): Promise<DocumentMime> {
  const check = new InputCheck(prefix);
  if (declared.fileName.length === 0 || declared.fileName.length > MAX_FILE_NAME) check.problem("fileName", `must be 1 to ${MAX_FILE_NAME} characters`);
  else if (UNSAFE_NAME.test(declared.fileName)) check.problem("fileName", "must not contain path separators or control characters");
  const detected = bytes.length === 0 ? undefined : await fileTypeFromBuffer(bytes);
  const mime = detected && isDocumentMime(detected.mime) ? detected.mime : null;
  if (mime === null) {
    const what = bytes.length === 0 ? "empty" : detected ? `of type ${detected.ext.toUpperCase()} (${detected.mime})` : "of an unknown type";
    check.problem("contentBase64", `the document is ${what}, not a JPEG, PNG or PDF`);
  } else {
    const contentType = declared.contentType.split(";")[0]?.trim().toLowerCase();
    if (contentType !== mime) check.problem("contentType", `declared ${declared.contentType.slice(0, 100)} but the content is a ${NAMES[mime]}`);
  }
  if (check.problems.length > 0 || mime === null) throw new BadUserInputError(check.problems);
  return mime;
}
