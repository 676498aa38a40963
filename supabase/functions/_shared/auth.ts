/** Identity: verifies Supabase Auth access tokens offline. The functions' only user of jose. */
import {
  base64url,
  createLocalJWKSet,
  createRemoteJWKSet,
  errors,
  type JWTHeaderParameters,
  type JWTPayload,
  jwtVerify,
} from "npm:jose@6.2.18";
import type { IdentityConfig, Jwk } from "./config.ts";
import { HttpError } from "./http.ts";
import { toUserId } from "./user_id.ts";

/** The signed-in user a request acts for. */
export interface AuthenticatedUser {
  id: string;
  email: string | undefined;
}

/** Verifies a request's access token and returns its user, or throws a 401 {@link HttpError}. */
export type Authenticate = (request: Request) => Promise<AuthenticatedUser>;

const ALGORITHMS = ["ES256", "RS256", "HS256"];
/** How far ahead of this clock a token's `iat` may be: servers' clocks drift a little. */
const CLOCK_TOLERANCE_SECONDS = 30;
const BEARER = /^Bearer[ \t]+([^\s]+)[ \t]*$/i;

/** Failures of our own (the key set cannot be fetched or is broken): these are 500s, not 401s. */
function isServerSideFailure(error: unknown): boolean {
  return error instanceof errors.JWKSTimeout || error instanceof errors.JWKSInvalid ||
    !(error instanceof errors.JOSEError);
}

interface HmacKey {
  kid: string | undefined;
  secret: Uint8Array;
}

function toHmacKey(jwk: Jwk): HmacKey[] {
  if (jwk.kty !== "oct" || typeof jwk.k !== "string") return [];
  if (jwk.alg !== undefined && jwk.alg !== "HS256") return [];
  return [{ kid: jwk.kid, secret: base64url.decode(jwk.k) }];
}

type KeyResolver = (header: JWTHeaderParameters) => Promise<CryptoKey | Uint8Array>;

/**
 * Picks the key for a token: asymmetric keys through jose's key sets, and the legacy HS256
 * secret from an `oct` member of the inline JWKS (jose's key sets do not hold `oct` keys).
 */
function createKeyResolver(identity: IdentityConfig): KeyResolver {
  const inline = identity.jwks?.keys;
  const hmacKeys = (inline ?? []).flatMap(toHmacKey);
  const publicKeys = inline === undefined
    ? createRemoteJWKSet(new URL(`${identity.supabaseUrl}/auth/v1/.well-known/jwks.json`), {
      timeoutDuration: 5000,
      cooldownDuration: 30_000,
      cacheMaxAge: 600_000,
    })
    : createLocalJWKSet({ keys: inline.filter((jwk) => jwk.kty !== "oct") });
  return (header) => {
    if (header.alg !== "HS256") return publicKeys(header);
    const match = hmacKeys.find((key) => header.kid === undefined || key.kid === header.kid);
    if (match === undefined) return Promise.reject(new errors.JWKSNoMatchingKey());
    return Promise.resolve(match.secret);
  };
}

/**
 * Creates the token verifier: keys from the inline JWKS when given (no network), else from
 * `${supabaseUrl}/auth/v1/.well-known/jwks.json`, fetched once and cached. Accepts ES256 and
 * RS256, and HS256 only when the key set holds the legacy secret as an `oct` key.
 */
export function createAuthenticator(identity: IdentityConfig): Authenticate {
  const keys = createKeyResolver(identity);
  const issuer = identity.issuers.length > 0 ? identity.issuers : undefined;

  return async (request) => {
    const header = request.headers.get("authorization");
    if (header === null || header.trim() === "") {
      throw new HttpError(401, "Missing authorization header");
    }
    const token = BEARER.exec(header)?.[1];
    if (token === undefined) throw new HttpError(401, "Invalid authorization header");
    if (token.startsWith("sb_")) {
      throw new HttpError(401, "An API key is not a user access token");
    }
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, keys, {
        algorithms: ALGORITHMS,
        audience: "authenticated",
        issuer,
        requiredClaims: ["exp", "sub"],
      }));
    } catch (error) {
      if (isServerSideFailure(error)) throw error;
      throw new HttpError(401, "Invalid access token");
    }
    // jose checks `iat` only against a maximum age; a token from the future is refused here.
    if (
      typeof payload.iat === "number" && payload.iat > Date.now() / 1000 + CLOCK_TOLERANCE_SECONDS
    ) {
      throw new HttpError(401, "Invalid access token");
    }
    if (payload.role !== "authenticated") {
      throw new HttpError(401, "Access token is not a signed-in user's");
    }
    const id = toUserId(payload.sub);
    if (id === null) throw new HttpError(401, "Invalid access token");
    return {
      id,
      email: typeof payload.email === "string" && payload.email !== "" ? payload.email : undefined,
    };
  };
}
