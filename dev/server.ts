/**
 * The local server's routes: the functions at both path styles and, when no Supabase project is
 * configured, local stand-ins for the platform around them (Auth under `/auth/v1`, the REST API
 * under `/rest/v1`) and the demo app at `/`.
 */
import { createAuthenticator } from "../supabase/functions/_shared/auth.ts";
import { type Handler, jsonResponse } from "../supabase/functions/_shared/http.ts";
import { CodeStore } from "./auth/codes.ts";
import { createLocalAuth } from "./auth/routes.ts";
import { SessionStore } from "./auth/sessions.ts";
import { createDemo } from "./demo/routes.ts";
import type { LocalIssuer } from "./issuer.ts";
import type { Sql } from "./postgres.ts";
import { createLocalRest } from "./rest/routes.ts";

/** The local stand-ins for Supabase's own services. */
export interface LocalPlatform {
  /** The local token issuer. */
  issuer: LocalIssuer;
  /** A superuser connection to the database (it sets each REST read's role). */
  sql: Sql;
  /** The project's publishable key the stand-ins accept. */
  publishableKey: string;
  /** This server's origin, as supabase-js is given it. */
  origin: string;
  /** Where the stand-ins write what a person should see (sign-in codes, failures). */
  log: (line: string) => void;
}

/** What the local server serves. */
export interface DevRoutes {
  checkout: Handler;
  portal: Handler;
  webhook: Handler;
  sync: Handler;
  /** Local Auth, REST and the demo, when no Supabase project is configured. */
  platform?: LocalPlatform;
}

type Route = (
  request: Request,
  path: string,
) => Promise<Response | undefined> | Response | undefined;

function platformRoutes(platform: LocalPlatform): Route[] {
  // The functions' own verifier, over the issuer's keys: the stand-ins accept exactly the
  // tokens the functions accept.
  const authenticate = createAuthenticator({
    jwks: platform.issuer.jwks,
    supabaseUrl: platform.origin,
    issuers: [platform.issuer.issuer],
  });
  return [
    createLocalAuth({
      issuer: platform.issuer,
      sql: platform.sql,
      authenticate,
      publishableKey: platform.publishableKey,
      codes: new CodeStore(),
      sessions: new SessionStore(),
      log: platform.log,
    }),
    createLocalRest({
      sql: platform.sql,
      authenticate,
      publishableKey: platform.publishableKey,
      log: platform.log,
    }),
    createDemo({ origin: platform.origin }),
  ];
}

/** Routes a request to the function its path names, else to the local stand-ins. */
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
  const others = routes.platform === undefined ? [] : platformRoutes(routes.platform);
  return async (request) => {
    const path = new URL(request.url).pathname.replace(/\/+$/, "");
    const handler = functions.get(path);
    if (handler !== undefined) return await handler(request);
    for (const route of others) {
      const response = await route(request, path);
      if (response !== undefined) return response;
    }
    if (path === "" && request.method === "GET") {
      return jsonResponse({ functions: [...functions.keys()] });
    }
    return jsonResponse({ error: "Not found" }, 404);
  };
}
