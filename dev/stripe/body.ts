/** Request bodies, read with a limit: any local process can reach the emulator. */

/** The largest body the emulator reads (Stripe's requests are a few kilobytes). */
export const MAX_BODY_BYTES = 1024 * 1024;

/** A body over the limit. */
export class BodyTooLarge extends Error {
  constructor(readonly limit: number) {
    super(`Request bodies are limited to ${limit} bytes`);
    this.name = "BodyTooLarge";
  }
}

/** The body as text, refused once it passes `limit` bytes (announced or streamed). */
export async function readBody(request: Request, limit = MAX_BODY_BYTES): Promise<string> {
  const announced = Number(request.headers.get("Content-Length") ?? "0");
  if (announced > limit) throw new BodyTooLarge(limit);
  if (request.body === null) return "";
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of request.body) {
    size += chunk.byteLength;
    if (size > limit) throw new BodyTooLarge(limit);
    chunks.push(chunk);
  }
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return new TextDecoder().decode(bytes);
}
