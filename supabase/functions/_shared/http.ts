/** HTTP plumbing shared by the functions: CORS, JSON responses, errors and the request log. */
import { ConfigError } from "./config.ts";
import { describeError, type LogFields, type Logger } from "./log.ts";

/** A request the function refuses, with the status and the message the caller sees. */
export class HttpError extends Error {
  override name = "HttpError";
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

/** A function's request handler, as `Deno.serve` takes it. */
export type Handler = (request: Request) => Promise<Response>;

/** What a route handler may add to its request's log line. */
export interface RequestContext {
  requestId: string;
  log: LogFields;
}

/** The logic of one function: answers a POST, or throws. */
export type RouteHandler = (request: Request, context: RequestContext) => Promise<Response>;

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

/** Options for {@link createHttpHandler}. */
export interface HttpHandlerOptions {
  /** The function's name, for the log. */
  name: string;
  logger: Logger;
  /** The fixed message of a 500 caused by our own failure. */
  failureMessage?: string;
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,100}$/;

function requestIdOf(request: Request): string {
  const given = request.headers.get("x-request-id");
  return given !== null && REQUEST_ID.test(given) ? given : crypto.randomUUID();
}

/**
 * Wraps a function's logic with the rules every function shares: CORS on every response,
 * OPTIONS preflight, POST only, errors turned into `{"error"}` bodies, one log line per request.
 */
export function createHttpHandler(options: HttpHandlerOptions, route: RouteHandler): Handler {
  const failureMessage = options.failureMessage ?? "Internal server error";
  return async (request) => {
    const started = performance.now();
    const context: RequestContext = { requestId: requestIdOf(request), log: {} };
    let response: Response;
    let outcome: string;
    let failure: LogFields | undefined;
    if (request.method === "OPTIONS") {
      response = new Response(null, { status: 204, headers: CORS_HEADERS });
      outcome = "preflight";
    } else if (request.method !== "POST") {
      response = jsonResponse({ error: "Method not allowed" }, 405);
      outcome = "rejected";
    } else {
      try {
        response = await route(request, context);
        outcome = "ok";
      } catch (error) {
        if (error instanceof HttpError) {
          response = jsonResponse({ error: error.message }, error.status);
          outcome = "rejected";
          context.log.reason = error.message;
        } else if (error instanceof ConfigError) {
          response = jsonResponse({ error: "Server misconfigured" }, 500);
          outcome = "misconfigured";
          failure = { error: error.message };
        } else {
          response = jsonResponse({ error: failureMessage }, 500);
          outcome = "failed";
          failure = describeError(error);
        }
      }
    }
    // A body nobody read (a refused request) is discarded rather than left to the connection.
    if (!request.bodyUsed) await request.body?.cancel().catch(() => {});
    const fields: LogFields = {
      function: options.name,
      requestId: context.requestId,
      method: request.method,
      status: response.status,
      outcome,
      durationMs: Math.round((performance.now() - started) * 10) / 10,
      ...context.log,
      ...failure,
    };
    if (failure) options.logger.error("request failed", fields);
    else options.logger.info("request", fields);
    return response;
  };
}

/**
 * Builds a handler on its first request and reuses it. When building fails (a missing or
 * malformed variable), that request is answered by the shared error path (500 "Server
 * misconfigured", logged with the variable's name) and the next request tries again.
 */
export function buildOnFirstRequest(
  options: HttpHandlerOptions,
  build: () => Handler,
): Handler {
  let handler: Handler | undefined;
  return (request) => {
    if (handler === undefined) {
      try {
        handler = build();
      } catch (error) {
        return createHttpHandler(options, () => Promise.reject(error))(request);
      }
    }
    return handler(request);
  };
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
