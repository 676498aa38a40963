/**
 * A local stand-in for Supabase Auth under `/auth/v1`, enough for supabase-js's email sign-in
 * with a one-time code: `POST /otp` "sends" a code (printed in the server's log and kept in a
 * local mailbox, as `supabase start`'s mail catcher does), `POST /verify` trades it for a
 * session, then `POST /token?grant_type=refresh_token`, `GET /user` and `POST /logout`. Access
 * tokens are the local issuer's ES256 JWTs; tokens presented here pass the functions' own
 * verifier first, so nothing is accepted that the functions would refuse.
 */
import { decodeJwt } from "npm:jose@6.2.18";
import type { Authenticate } from "../../supabase/functions/_shared/auth.ts";
import { HttpError, readBodyText } from "../../supabase/functions/_shared/http.ts";
import type { LocalIssuer } from "../issuer.ts";
import type { Sql } from "../postgres.ts";
import { API_CORS_HEADERS, apiJson, apiPreflight, checkApiKey } from "../gateway.ts";
import type { CodeStore } from "./codes.ts";
import { issueLocalToken, readMailbox } from "./local.ts";
import { AuthError, authErrorResponse } from "./errors.ts";
import { type SessionStore, type SignOutScope } from "./sessions.ts";
import {
  type AuthUser,
  findOrCreateUser,
  findUser,
  normalizeEmail,
  recordSignIn,
} from "./users.ts";

/** Seconds an access token is valid, as Supabase Auth's default `jwt_expiry`. */
export const ACCESS_TOKEN_SECONDS = 3600;
const MAX_BODY_BYTES = 16 * 1024;
const VERIFY_TYPES = new Set(["email", "magiclink", "signup"]);
const SCOPES: readonly SignOutScope[] = ["global", "local", "others"];

function isScope(value: string): value is SignOutScope {
  return (SCOPES as readonly string[]).includes(value);
}

/** What the local auth API runs on. */
export interface LocalAuthDeps {
  issuer: LocalIssuer;
  sql: Sql;
  /** The functions' token verifier, over the issuer's keys. */
  authenticate: Authenticate;
  publishableKey: string;
  codes: CodeStore;
  sessions: SessionStore;
  /** Where "sent" codes are announced (the server's log). */
  log: (line: string) => void;
}

/** A session as Supabase Auth answers it. */
interface SessionBody {
  access_token: string;
  token_type: "bearer";
  expires_in: number;
  expires_at: number;
  refresh_token: string;
  user: AuthUser;
}

async function readJson(request: Request): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await readBodyText(request, MAX_BODY_BYTES);
  } catch (error) {
    if (error instanceof HttpError) {
      throw new AuthError(error.status, "validation_failed", error.message);
    }
    throw error;
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new AuthError(400, "bad_json", "Could not parse request body as JSON");
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new AuthError(400, "bad_json", "Could not parse request body as JSON");
  }
  return value as Record<string, unknown>;
}

function requireEmail(body: Record<string, unknown>): string {
  if (body.email === undefined || body.email === null || body.email === "") {
    throw new AuthError(400, "validation_failed", "An email address is required");
  }
  const email = normalizeEmail(body.email);
  if (email === null) {
    throw new AuthError(
      400,
      "validation_failed",
      "Unable to validate email address: invalid format",
    );
  }
  return email;
}

/** Creates the `/auth/v1` routes; answers undefined for a path it does not serve. */
export function createLocalAuth(deps: LocalAuthDeps) {
  async function newSession(user: AuthUser, sessionId: string, refreshToken: string) {
    const now = Math.floor(Date.now() / 1000);
    const accessToken = await deps.issuer.mint({
      sub: user.id,
      email: user.email,
      phone: "",
      app_metadata: user.app_metadata,
      user_metadata: user.user_metadata,
      amr: [{ method: "otp", timestamp: now }],
      session_id: sessionId,
    }, { expiresIn: ACCESS_TOKEN_SECONDS });
    const body: SessionBody = {
      access_token: accessToken,
      token_type: "bearer",
      expires_in: ACCESS_TOKEN_SECONDS,
      expires_at: now + ACCESS_TOKEN_SECONDS,
      refresh_token: refreshToken,
      user,
    };
    return body;
  }

  /** The caller's verified claims, as the functions would verify them. */
  async function caller(request: Request): Promise<{ userId: string; sessionId: string }> {
    const header = request.headers.get("authorization");
    if (header === null || header.trim() === "") {
      throw new AuthError(401, "no_authorization", "This endpoint requires a valid Bearer token");
    }
    let userId: string;
    try {
      userId = (await deps.authenticate(request)).id;
    } catch (error) {
      if (!(error instanceof HttpError)) throw error;
      throw new AuthError(403, "bad_jwt", `invalid JWT: ${error.message.toLowerCase()}`);
    }
    const token = header.replace(/^Bearer\s+/i, "").trim();
    const sessionId = decodeJwt(token).session_id;
    if (typeof sessionId !== "string" || deps.sessions.isEnded(sessionId)) {
      throw new AuthError(
        403,
        "session_not_found",
        "Session from session_id claim in JWT does not exist",
      );
    }
    return { userId, sessionId };
  }

  async function sendCode(request: Request): Promise<Response> {
    const body = await readJson(request);
    const email = requireEmail(body);
    if (body.create_user === false) {
      const [known] = await deps.sql`select 1 from auth.users where lower(email) = ${email}`;
      if (known === undefined) {
        throw new AuthError(422, "otp_disabled", "Signups not allowed for otp");
      }
    }
    const code = deps.codes.issue(email);
    deps.log(`Sign-in code for ${email}: ${code}  (local test mode: no email is sent)`);
    return apiJson({});
  }

  async function verifyCode(request: Request): Promise<Response> {
    const body = await readJson(request);
    if (typeof body.type !== "string" || !VERIFY_TYPES.has(body.type)) {
      throw new AuthError(400, "validation_failed", 'Verify requires the type "email"');
    }
    const email = requireEmail(body);
    if (typeof body.token !== "string" || body.token === "") {
      throw new AuthError(400, "validation_failed", "Verify requires a token");
    }
    if (!deps.codes.verify(email, body.token.trim())) {
      throw new AuthError(403, "otp_expired", "Token has expired or is invalid");
    }
    const { user } = await findOrCreateUser(deps.sql, email);
    const signedIn = await recordSignIn(deps.sql, user.id) ?? user;
    const { sessionId, refreshToken } = deps.sessions.start(user.id);
    return apiJson(await newSession(signedIn, sessionId, refreshToken));
  }

  async function refresh(request: Request, grantType: string | null): Promise<Response> {
    if (grantType !== "refresh_token") {
      throw new AuthError(
        400,
        "validation_failed",
        `Unsupported grant type "${grantType ?? ""}": local sign-in uses email codes`,
      );
    }
    const body = await readJson(request);
    if (typeof body.refresh_token !== "string" || body.refresh_token === "") {
      throw new AuthError(400, "validation_failed", "Refresh token is required");
    }
    const outcome = deps.sessions.refresh(body.refresh_token);
    if (!outcome.ok) {
      throw outcome.reason === "already_used"
        ? new AuthError(400, "refresh_token_already_used", "Invalid Refresh Token: Already Used")
        : new AuthError(
          400,
          "refresh_token_not_found",
          "Invalid Refresh Token: Refresh Token Not Found",
        );
    }
    const user = await findUser(deps.sql, outcome.userId);
    if (user === undefined) {
      throw new AuthError(
        400,
        "refresh_token_not_found",
        "Invalid Refresh Token: Refresh Token Not Found",
      );
    }
    return apiJson(await newSession(user, outcome.sessionId, outcome.refreshToken));
  }

  async function currentUser(request: Request): Promise<Response> {
    const { userId } = await caller(request);
    const user = await findUser(deps.sql, userId);
    if (user === undefined) {
      throw new AuthError(403, "user_not_found", "User from sub claim in JWT does not exist");
    }
    return apiJson(user);
  }

  async function signOut(request: Request, scopeParam: string | null): Promise<Response> {
    const scope = scopeParam ?? "global";
    if (!isScope(scope)) {
      throw new AuthError(400, "validation_failed", `Unsupported logout scope "${scope}"`);
    }
    const { userId, sessionId } = await caller(request);
    deps.sessions.signOut(userId, sessionId, scope);
    return new Response(null, { status: 204, headers: API_CORS_HEADERS });
  }

  /** The public API: every call needs the project's API key, as behind Supabase's gateway. */
  async function api(request: Request, path: string): Promise<Response | undefined> {
    const url = new URL(request.url);
    const route = `${request.method} ${path}`;
    const known = [
      "POST /auth/v1/otp",
      "POST /auth/v1/verify",
      "POST /auth/v1/token",
      "GET /auth/v1/user",
      "POST /auth/v1/logout",
    ];
    if (!known.includes(route)) return undefined;
    const refused = checkApiKey(request, deps.publishableKey);
    if (refused !== undefined) return refused;
    try {
      switch (route) {
        case "POST /auth/v1/otp":
          return await sendCode(request);
        case "POST /auth/v1/verify":
          return await verifyCode(request);
        case "POST /auth/v1/token":
          return await refresh(request, url.searchParams.get("grant_type"));
        case "GET /auth/v1/user":
          return await currentUser(request);
        default:
          return await signOut(request, url.searchParams.get("scope"));
      }
    } catch (error) {
      if (error instanceof AuthError) return authErrorResponse(request, error);
      throw error;
    }
  }

  return async (request: Request, path: string): Promise<Response | undefined> => {
    if (!path.startsWith("/auth/v1/")) return undefined;
    // The local-only helpers answer no preflight and carry no CORS headers: no web page of
    // another origin may mint tokens or read codes.
    if (path === "/auth/v1/local/token" && request.method === "POST") {
      return await issueLocalToken(deps, request);
    }
    if (path === "/auth/v1/local/mailbox" && request.method === "GET") {
      return readMailbox(deps.codes, request);
    }
    if (path.startsWith("/auth/v1/local/")) return undefined;
    if (request.method === "OPTIONS") return apiPreflight();
    if (path === "/auth/v1/.well-known/jwks.json" && request.method === "GET") {
      return apiJson(deps.issuer.jwks);
    }
    return await api(request, path);
  };
}
