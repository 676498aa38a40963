/**
 * What Supabase's API gateway does in front of Auth and the REST API, for the local stand-ins:
 * the `apikey` check (a project's publishable key, in the header or the query) with the
 * gateway's own 401 bodies, and CORS open to every origin, as on Supabase.
 */

/** CORS headers of the platform's API (auth and REST), on every answer. */
export const API_CORS_HEADERS: Readonly<Record<string, string>> = {
  "Access-Control-Allow-Origin": "*",
  "Access-Control-Allow-Methods": "GET, HEAD, POST, OPTIONS",
  "Access-Control-Allow-Headers": [
    "authorization",
    "apikey",
    "content-type",
    "x-client-info",
    "x-supabase-api-version",
    "accept",
    "accept-profile",
    "content-profile",
    "prefer",
    "range",
  ].join(", "),
  "Access-Control-Expose-Headers": "content-range, x-supabase-api-version",
  "Access-Control-Max-Age": "86400",
};

/** A JSON answer with the platform's CORS headers. */
export function apiJson(body: unknown, status = 200, headers: Record<string, string> = {}) {
  return new Response(JSON.stringify(body), {
    status,
    headers: { ...API_CORS_HEADERS, "Content-Type": "application/json", ...headers },
  });
}

/** The answer to a CORS preflight of the platform's API. */
export function apiPreflight(): Response {
  return new Response(null, { status: 204, headers: API_CORS_HEADERS });
}

/**
 * Checks the request's API key against the project's publishable key. Returns the gateway's
 * 401 when it is missing or another key, undefined when the request may pass.
 */
export function checkApiKey(request: Request, publishableKey: string): Response | undefined {
  const key = request.headers.get("apikey") ?? new URL(request.url).searchParams.get("apikey");
  if (key === null || key === "") {
    return apiJson({
      message: "No API key found in request",
      hint: "No `apikey` request header or url param was found.",
    }, 401);
  }
  // A publishable key is public by design: a plain comparison gives nothing away.
  if (key !== publishableKey) {
    return apiJson({
      message: "Invalid API key",
      hint: "Double check your Supabase `anon` or `service_role` API key.",
    }, 401);
  }
  return undefined;
}
