/** HTTP primitives shared by the functions: the refusal type, CORS, JSON responses, bodies. */

/** A request the function refuses, with the status and the message the caller sees. */
export class HttpError extends Error {
  override name = "HttpError";
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

/** A function's request handler, as `Deno.serve` takes it. */
export type Handler = (request: Request) => Promise<Response>;

export const CORS_HEADERS: Readonly<Record<string, string>> = {
  "Access-Control-Allow-Origin": "*",
  "Access-Control-Allow-Methods": "POST, OPTIONS",
  "Access-Control-Allow-Headers":
    "authorization, content-type, apikey, x-client-info, x-request-id",
  "Access-Control-Max-Age": "86400",
};

/** A JSON response carrying the CORS headers. */
export function jsonResponse(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { ...CORS_HEADERS, "Content-Type": "application/json" },
  });
}

/**
 * Reads a request body as text, refusing more than `limit` bytes with 413, whether or not the
 * client declared its length.
 */
export async function readBodyText(request: Request, limit: number): Promise<string> {
  const declared = request.headers.get("content-length");
  if (declared !== null && Number(declared) > limit) {
    throw new HttpError(413, "Payload too large");
  }
  if (request.body === null) return "";
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  while (true) {
    let chunk: ReadableStreamReadResult<Uint8Array>;
    try {
      chunk = await reader.read();
    } catch {
      throw new HttpError(400, "Could not read the request body");
    }
    const { done, value } = chunk;
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel().catch(() => {});
      throw new HttpError(413, "Payload too large");
    }
    chunks.push(value);
  }
  const body = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    body.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return new TextDecoder().decode(body);
}

/** The largest options body (`{"price": ...}`, `{"flow": ...}`) a user-facing function reads. */
export const MAX_OPTIONS_BYTES = 16 * 1024;

/**
 * Reads an optional JSON options object. No body, an empty body, a body that is not JSON or a
 * JSON value that is not an object all mean "no options" (an empty object), so that a client
 * sending none of them is served as before; a body over {@link MAX_OPTIONS_BYTES} is a 413.
 */
export async function readOptions(request: Request): Promise<Record<string, unknown>> {
  const text = await readBodyText(request, MAX_OPTIONS_BYTES);
  if (text.trim() === "") return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return {};
  }
  return typeof value === "object" && value !== null && !Array.isArray(value)
    ? value as Record<string, unknown>
    : {};
}
