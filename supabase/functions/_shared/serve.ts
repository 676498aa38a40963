/**
 * What every function shares around its own logic: CORS on every response, the OPTIONS
 * preflight, POST only, errors turned into `{"error"}` bodies in one place, one log line per
 * request, and its dependencies built from the environment on the first request.
 */
import { ConfigError, type EnvReader, readDenoEnv } from "./config.ts";
import { CORS_HEADERS, type Handler, HttpError, jsonResponse } from "./http.ts";
import { createLogger, describeError, type LogFields, type Logger } from "./log.ts";

/** What a function's logic may add to its request's log line. */
export interface RequestContext {
  requestId: string;
  log: LogFields;
}

/** The logic of one function: answers a POST, or throws (an {@link HttpError} to refuse it). */
export type Route = (request: Request, context: RequestContext) => Promise<Response>;

/** The dependencies every function has. */
export interface FunctionDeps {
  logger: Logger;
}

/** One edge function: its name, what its own failures answer, and how it is built. */
export interface EdgeFunction<Deps extends FunctionDeps> {
  /** The function's name, as deployed and as logged. */
  name: string;
  /** The fixed message of a 500 caused by our own failure. */
  failureMessage?: string;
  /** The function's logic over its dependencies. */
  route(deps: Deps): Route;
  /** Real dependencies from the environment; throws a `ConfigError` naming a bad variable. */
  depsFromEnv(env: EnvReader, logger: Logger): Deps;
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,100}$/;

function requestIdOf(request: Request): string {
  const given = request.headers.get("x-request-id");
  return given !== null && REQUEST_ID.test(given) ? given : crypto.randomUUID();
}

/** Wraps a route in the rules every function shares (see the module's comment). */
function wrap(name: string, failureMessage: string, logger: Logger, route: Route): Handler {
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
      function: name,
      requestId: context.requestId,
      method: request.method,
      status: response.status,
      outcome,
      durationMs: Math.round((performance.now() - started) * 10) / 10,
      ...context.log,
      ...failure,
    };
    if (failure) logger.error("request failed", fields);
    else logger.info("request", fields);
    return response;
  };
}

/** The function's handler over dependencies built elsewhere (tests, benchmarks). */
export function handlerWith<Deps extends FunctionDeps>(
  fn: EdgeFunction<Deps>,
  deps: Deps,
): Handler {
  return wrap(fn.name, fn.failureMessage ?? "Internal server error", deps.logger, fn.route(deps));
}

/** Options for {@link functionHandler}. */
export interface FunctionHandlerOptions {
  /** Where variables come from; `Deno.env` by default. */
  env?: EnvReader;
  logger?: Logger;
}

/**
 * The function's handler, its dependencies built from the environment on the first request and
 * reused. When building fails (a missing or malformed variable), that request gets 500 "Server
 * misconfigured", logged with the variable's name, and the next request tries again.
 */
export function functionHandler<Deps extends FunctionDeps>(
  fn: EdgeFunction<Deps>,
  options: FunctionHandlerOptions = {},
): Handler {
  const logger = options.logger ?? createLogger();
  const failureMessage = fn.failureMessage ?? "Internal server error";
  let handler: Handler | undefined;
  return (request) => {
    if (handler === undefined) {
      try {
        handler = wrap(
          fn.name,
          failureMessage,
          logger,
          fn.route(fn.depsFromEnv(options.env ?? readDenoEnv, logger)),
        );
      } catch (error) {
        return wrap(fn.name, failureMessage, logger, () => Promise.reject(error))(request);
      }
    }
    return handler(request);
  };
}

/** Serves a function as its `index.ts` does on Supabase. */
export function serveFunction<Deps extends FunctionDeps>(fn: EdgeFunction<Deps>): void {
  Deno.serve(functionHandler(fn));
}
