import type { IncomingMessage } from "node:http";

/** The body, or null once it grows past `limit` (reading stops there). */
export function readBody(request: IncomingMessage, limit: number): Promise<Buffer | null> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limit) return void chunks.push(chunk);
      request.off("data", onData);
      request.pause();
      resolve(null);
    };
    request.on("data", onData);
    request.once("end", () => resolve(Buffer.concat(chunks)));
    request.once("error", reject);
    // The caller went away midway: nobody reads the answer (a no-op after "end").
    request.once("close", () => resolve(null));
  });
}
