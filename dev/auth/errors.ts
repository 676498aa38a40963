/**
 * Errors shaped as Supabase Auth answers them. A client that names API version 2024-01-01 (as
 * supabase-js does, in `X-Supabase-Api-Version`) gets `{"code", "message"}` and the version
 * echoed back; any other client the original `{"code": <status>, "error_code", "msg"}`.
 */
import { apiJson } from "../gateway.ts";

const API_VERSION_HEADER = "x-supabase-api-version";
const API_VERSION_2024 = "2024-01-01";

/** A refusal of the local auth API: its status, Supabase Auth's error code and message. */
export class AuthError extends Error {
  override name = "AuthError";
  constructor(readonly status: number, readonly code: string, message: string) {
    super(message);
  }
}

/** The response for `error`, in the shape the request's API version expects. */
export function authErrorResponse(request: Request, error: AuthError): Response {
  const version = request.headers.get(API_VERSION_HEADER);
  if (version !== null && version >= API_VERSION_2024 && /^\d{4}-\d{2}-\d{2}$/.test(version)) {
    return apiJson({ code: error.code, message: error.message }, error.status, {
      "X-Supabase-Api-Version": API_VERSION_2024,
    });
  }
  return apiJson({ code: error.status, error_code: error.code, msg: error.message }, error.status);
}
