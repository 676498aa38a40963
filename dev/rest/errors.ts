/** Errors shaped as PostgREST answers them: `{"code", "details", "hint", "message"}`. */
import { apiJson } from "../gateway.ts";

/** A refusal of the local REST API, with PostgREST's status and code. */
export class RestError extends Error {
  override name = "RestError";
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: string | null = null,
    readonly hint: string | null = null,
  ) {
    super(message);
  }
}

/** The response for `error`, with PostgREST's body. */
export function restErrorResponse(error: RestError): Response {
  const headers: Record<string, string> = {};
  if (error.status === 401) {
    headers["WWW-Authenticate"] = `Bearer error="invalid_token", error_description="${
      error.message.replace(/["\\]/g, "")
    }"`;
  }
  return apiJson(
    { code: error.code, details: error.details, hint: error.hint, message: error.message },
    error.status,
    headers,
  );
}
