/** The local server's routes: the functions at both path styles, plus local identity. */
import type { Sql } from "./postgres.ts";
import { type Handler, jsonResponse } from "../supabase/functions/_shared/http.ts";
import type { LocalIssuer } from "./issuer.ts";

/** What the local server serves. */
export interface DevRoutes {
  checkout: Handler;
  portal: Handler;
  webhook: Handler;
  sync: Handler;
  /** The local token issuer, when no Supabase project is configured. */
  identity?: { issuer: LocalIssuer; sql: Sql };
}

const EMAIL = /^[^\s@]+@[^\s@]+$/;

/** Creates the local user for `email` if new (the profile trigger fires) and returns a token. */
async function issueToken(identity: NonNullable<DevRoutes["identity"]>, request: Request) {
  let email: unknown;
  try {
    ({ email } = await request.json());
  } catch {
    return jsonResponse({ error: "Expected a JSON body" }, 400);
  }
  if (typeof email !== "string" || !EMAIL.test(email)) {
    return jsonResponse({ error: 'Expected {"email": "..."}' }, 400);
  }
  const normalized = email.toLowerCase();
  const [user] = await identity.sql<{ id: string; created: boolean }[]>`
    with existing as (select id from auth.users where lower(email) = ${normalized} limit 1),
    inserted as (
      insert into auth.users (email, aud, role, email_confirmed_at)
      select ${normalized}, 'authenticated', 'authenticated', now()
      where not exists (select 1 from existing)
      returning id
    )
    select id, false as created from existing
    union all
    select id, true from inserted`;
  if (!user) throw new Error("Could not create the local user");
  const expiresIn = 3600;
  const token = await identity.issuer.mint({ sub: user.id, email: normalized }, { expiresIn });
  return jsonResponse({
    access_token: token,
    token_type: "bearer",
    expires_in: expiresIn,
    user: { id: user.id, email: normalized, created: user.created },
  });
}

/** Routes a request to the function its path names. */
export function createDevHandler(routes: DevRoutes): Handler {
  const functions = new Map<string, Handler>([
    ["/functions/v1/stripe-checkout", routes.checkout],
    ["/functions/v1/stripe-portal", routes.portal],
    ["/functions/v1/stripe-webhook", routes.webhook],
    ["/functions/v1/stripe-sync", routes.sync],
    ["/api/stripe/checkout", routes.checkout],
    ["/api/stripe/portal", routes.portal],
    ["/api/stripe/webhook", routes.webhook],
    ["/api/stripe/sync", routes.sync],
  ]);
  return async (request) => {
    const path = new URL(request.url).pathname.replace(/\/+$/, "");
    const handler = functions.get(path);
    if (handler !== undefined) return await handler(request);
    if (routes.identity !== undefined) {
      if (path === "/auth/v1/.well-known/jwks.json" && request.method === "GET") {
        return jsonResponse(routes.identity.issuer.jwks);
      }
      if (path === "/auth/v1/local/token" && request.method === "POST") {
        return await issueToken(routes.identity, request);
      }
    }
    if (path === "" && request.method === "GET") {
      return jsonResponse({ functions: [...functions.keys()] });
    }
    return jsonResponse({ error: "Not found" }, 404);
  };
}
