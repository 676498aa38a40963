/**
 * The local auth API's helpers that Supabase Auth does not have: `POST /auth/v1/local/token`
 * (what `deno task token` calls: a user and an access token for an email, no code) and
 * `GET /auth/v1/local/mailbox?email=...` (the last code "sent" to an address, as the mail
 * catcher of `supabase start` shows it). They answer only requests addressed to this machine,
 * and carry no CORS headers, so a web page of another origin can neither call nor read them.
 */
import { HostCheck } from "../stripe/hosts.ts";
import type { LocalIssuer } from "../issuer.ts";
import type { Sql } from "../postgres.ts";
import type { CodeStore } from "./codes.ts";
import { findOrCreateUser, normalizeEmail } from "./users.ts";

const LOCAL_HOSTS = new HostCheck();

/** A JSON answer without CORS headers. */
function localJson(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "Content-Type": "application/json", "Cache-Control": "no-store" },
  });
}

function refusedHost(request: Request): Response | undefined {
  return LOCAL_HOSTS.allows(request.headers.get("host")) ? undefined : localJson(
    { error: "This local endpoint answers only requests addressed to this machine" },
    403,
  );
}

/** Creates the local user for an email if new (the profile trigger fires) and returns a token. */
export async function issueLocalToken(
  deps: { issuer: LocalIssuer; sql: Sql },
  request: Request,
): Promise<Response> {
  const refused = refusedHost(request);
  if (refused !== undefined) return refused;
  let body: unknown;
  try {
    body = await request.json();
  } catch {
    return localJson({ error: "Expected a JSON body" }, 400);
  }
  const email = typeof body === "object" && body !== null && "email" in body
    ? normalizeEmail(body.email)
    : null;
  if (email === null) return localJson({ error: 'Expected {"email": "..."}' }, 400);
  const { user, created } = await findOrCreateUser(deps.sql, email);
  const expiresIn = 3600;
  const token = await deps.issuer.mint({ sub: user.id, email }, { expiresIn });
  return localJson({
    access_token: token,
    token_type: "bearer",
    expires_in: expiresIn,
    user: { id: user.id, email, created },
  });
}

/** The live code last sent to `?email=`, or 404. */
export function readMailbox(codes: CodeStore, request: Request): Response {
  const refused = refusedHost(request);
  if (refused !== undefined) return refused;
  const email = normalizeEmail(new URL(request.url).searchParams.get("email"));
  if (email === null) return localJson({ error: 'Expected "?email=" with an email address' }, 400);
  const sent = codes.lastSent(email);
  if (sent === undefined) return localJson({ error: `No code was sent to "${email}"` }, 404);
  return localJson(sent);
}
