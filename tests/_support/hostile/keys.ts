/** Keys and tokens the hostile cases forge: a key the tests hold, strangers' keys, HMAC tokens. */
import { base64url, exportJWK, generateKeyPair, SignJWT } from "npm:jose@6.2.18";
import type { LocalIssuer, MintOptions } from "../../../dev/issuer.ts";
import { type ControlledKey, encoder, now, segment } from "./common.ts";

/** A key pair of `alg`, and its public JWK. */
export async function strangerKey(alg: string) {
  const pair = await generateKeyPair(alg, { extractable: true });
  return { ...pair, publicJwk: await exportJWK(pair.publicKey) };
}

/** Creates the key behind the `*-controlled` handlers. */
export async function createControlledKey(): Promise<ControlledKey> {
  const { privateKey, publicJwk } = await strangerKey("ES256");
  const kid = `controlled-${crypto.randomUUID()}`;
  return {
    kid,
    jwks: { keys: [{ ...publicJwk, kty: "EC", kid, alg: "ES256", use: "sig" }] },
    async sign(header, payload) {
      const input = `${segment(header)}.${segment(payload)}`;
      const signature = await crypto.subtle.sign(
        { name: "ECDSA", hash: "SHA-256" },
        privateKey,
        encoder.encode(input),
      );
      return `${input}.${base64url.encode(new Uint8Array(signature))}`;
    },
  };
}

/** Claims shaped like a valid Supabase access token for `sub`, from `issuer`. */
export function claimsFor(issuer: string, sub: unknown): Record<string, unknown> {
  const issued = now();
  return {
    aud: "authenticated",
    role: "authenticated",
    sub,
    iss: issuer,
    iat: issued,
    exp: issued + 3600,
    email: "mallory@example.com",
  };
}

/** Signs `claims` with HS256 and `secret`, under the harness issuer's kid. */
export function hmacToken(
  claims: Record<string, unknown>,
  secret: Uint8Array,
  header: Record<string, unknown>,
): Promise<string> {
  return new SignJWT(claims).setProtectedHeader({ alg: "HS256", ...header }).sign(secret);
}

/** Mints a token with the harness issuer's real key while the clock reads `offset` seconds ahead. */
export async function mintAt(
  issuer: LocalIssuer,
  offset: number,
  sub: string,
  options?: MintOptions,
): Promise<string> {
  const realNow = Date.now;
  Date.now = () => realNow() + offset * 1000;
  try {
    return await issuer.mint({ sub }, options);
  } finally {
    Date.now = realNow;
  }
}

/** Replaces the character at `index` of `text` with a different base64url character. */
export function changeCharAt(text: string, index: number): string {
  const old = text[index];
  const replacement = old === "A" ? "B" : "A";
  return `${text.slice(0, index)}${replacement}${text.slice(index + 1)}`;
}
