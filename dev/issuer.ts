/** A local stand-in for Supabase Auth's token issuer: an ES256 key, its JWKS, and tokens. */
import { exportJWK, generateKeyPair, importJWK, type JWK, SignJWT } from "npm:jose@6.2.18";
import type { JsonWebKeySet } from "../supabase/functions/_shared/config.ts";

/** Claims of an access token shaped like Supabase Auth's. */
export interface TokenClaims {
  sub: string;
  email?: string;
  role?: string;
  aud?: string;
  [claim: string]: unknown;
}

/** Options for one token. */
export interface MintOptions {
  /** Seconds until expiry; negative for an already expired token. Default one hour. */
  expiresIn?: number;
  /** Seconds from now before which the token is not valid. */
  notBefore?: number;
  issuer?: string;
}

/** Issues access tokens signed with one ES256 key. */
export interface LocalIssuer {
  /** The `iss` of its tokens, like Supabase's `${SUPABASE_URL}/auth/v1`. */
  issuer: string;
  kid: string;
  /** The public key set, as `/auth/v1/.well-known/jwks.json` serves it. */
  jwks: JsonWebKeySet;
  mint(claims: TokenClaims, options?: MintOptions): Promise<string>;
}

interface StoredKey {
  kid: string;
  privateJwk: JWK;
  publicJwk: JWK;
}

async function newKey(): Promise<StoredKey> {
  const { privateKey, publicKey } = await generateKeyPair("ES256", { extractable: true });
  return {
    kid: crypto.randomUUID(),
    privateJwk: await exportJWK(privateKey),
    publicJwk: await exportJWK(publicKey),
  };
}

async function loadOrCreateKey(keyFile: string | undefined): Promise<StoredKey> {
  if (keyFile === undefined) return newKey();
  try {
    return JSON.parse(await Deno.readTextFile(keyFile)) as StoredKey;
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  const key = await newKey();
  await Deno.writeTextFile(keyFile, JSON.stringify(key), { mode: 0o600 });
  return key;
}

/**
 * Creates an issuer for `baseUrl` (the local Supabase URL). With `keyFile`, the key is kept
 * there, so tokens stay valid across restarts.
 */
export async function createLocalIssuer(
  baseUrl: string,
  options: { keyFile?: string } = {},
): Promise<LocalIssuer> {
  const stored = await loadOrCreateKey(options.keyFile);
  const privateKey = await importJWK(stored.privateJwk, "ES256");
  const issuer = `${baseUrl.replace(/\/+$/, "")}/auth/v1`;
  const publicJwk = { ...stored.publicJwk, kid: stored.kid, alg: "ES256", use: "sig" };
  return {
    issuer,
    kid: stored.kid,
    jwks: { keys: [{ ...publicJwk, kty: "EC" }] },
    mint(claims, mintOptions = {}) {
      const now = Math.floor(Date.now() / 1000);
      const { sub, ...rest } = claims;
      const jwt = new SignJWT({
        aud: "authenticated",
        role: "authenticated",
        aal: "aal1",
        session_id: crypto.randomUUID(),
        is_anonymous: false,
        ...rest,
      })
        .setProtectedHeader({ alg: "ES256", kid: stored.kid, typ: "JWT" })
        .setSubject(sub)
        .setIssuer(mintOptions.issuer ?? issuer)
        .setIssuedAt(now)
        .setExpirationTime(now + (mintOptions.expiresIn ?? 3600));
      if (mintOptions.notBefore !== undefined) jwt.setNotBefore(now + mintOptions.notBefore);
      return jwt.sign(privateKey);
    },
  };
}
