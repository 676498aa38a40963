/**
 * Hostile cases about the access token (checkout and portal): forged algorithms and keys, claims
 * out of shape, tokens tampered with, and times outside the token's validity.
 */
import { base64url, exportSPKI, importJWK, type JWK, SignJWT } from "npm:jose@6.2.18";
import type { MintOptions } from "../../../dev/issuer.ts";
import type { Jwk } from "../../../supabase/functions/_shared/config.ts";
import {
  type CaseContext,
  deepJson,
  encoder,
  type HostileCase,
  INVALID_UTF8,
  now,
  segment,
  type Target,
  withAuthorization,
  YEAR,
} from "./common.ts";
import { changeCharAt, claimsFor, hmacToken, mintAt, strangerKey } from "./keys.ts";

/** A token row: `token` builds the credential that follows `Bearer `. */
type TokenRow = [string, (c: CaseContext) => string | Promise<string>, string?];

/** Rows about tokens presented to the harness's real issuer. */
export function tokenCases(target: Target): HostileCase[] {
  const none = (alg: string, signature: string) => (c: CaseContext) =>
    `${segment({ alg, typ: "JWT" })}.${segment(claimsFor(c.issuer.issuer, c.user.id))}${signature}`;
  const confusion = (secret: (c: CaseContext) => Promise<Uint8Array> | Uint8Array) =>
  async (
    c: CaseContext,
  ) => hmacToken(claimsFor(c.issuer.issuer, c.user.id), await secret(c), { kid: c.issuer.kid });
  const publicJwk = (c: CaseContext): Jwk => {
    const [jwk] = c.issuer.jwks.keys;
    if (jwk === undefined) throw new Error("The issuer publishes no key");
    return jwk;
  };
  const stranger = (alg: string, header: (c: CaseContext) => Record<string, unknown>) =>
  async (
    c: CaseContext,
  ) => {
    const key = await strangerKey(alg);
    return new SignJWT(claimsFor(c.issuer.issuer, c.user.id))
      .setProtectedHeader({ alg, ...header(c) })
      .sign(key.privateKey);
  };
  const strangerWith = (extra: (jwk: JWK) => Record<string, unknown>) => async (c: CaseContext) => {
    const key = await strangerKey("ES256");
    return new SignJWT(claimsFor(c.issuer.issuer, c.user.id))
      .setProtectedHeader({ alg: "ES256", ...extra(key.publicJwk) })
      .sign(key.privateKey);
  };
  const kidOf = (kid: string) => stranger("ES256", () => ({ kid }));
  const mint = (claims: Record<string, unknown>, options?: MintOptions) => (c: CaseContext) =>
    c.issuer.mint({ sub: c.user.id, ...claims }, options);
  const legacySecret = encoder.encode("super-secret-jwt-token-with-at-least-32-characters-long");
  const legacy = (role: string) => () =>
    new SignJWT({ iss: "supabase-demo", role })
      .setProtectedHeader({ alg: "HS256", typ: "JWT" })
      .setExpirationTime(now() + 10 * YEAR)
      .sign(legacySecret);
  const tamper = (part: 0 | 1 | 2, at: (length: number) => number) => (c: CaseContext) => {
    const parts = c.user.token.split(".");
    const chosen = parts[part] ?? "";
    parts[part] = changeCharAt(chosen, at(chosen.length));
    return parts.join(".");
  };

  const rows: TokenRow[] = [
    ["alg none with an empty signature", none("none", ".")],
    ["alg none without a signature part", none("none", "")],
    ["alg none with a garbage signature", none("none", ".c2lnbmF0dXJl")],
    ["alg `None`", none("None", ".")],
    ["alg `NONE`", none("NONE", ".")],
    ["alg `nOnE` with a signature copied from a valid token", async (c) => {
      const signature = c.user.token.split(".")[2] ?? "";
      return await none("nOnE", `.${signature}`)(c);
    }],
    [
      "alg none carrying our kid",
      (c) =>
        `${segment({ alg: "none", kid: c.issuer.kid })}.${
          segment(claimsFor(c.issuer.issuer, c.user.id))
        }.`,
    ],
    [
      "HS256 keyed with the public JWK's JSON (key confusion)",
      confusion((c) => encoder.encode(JSON.stringify(publicJwk(c)))),
    ],
    [
      "HS256 keyed with the public key's x coordinate",
      confusion((c) => base64url.decode(String(publicJwk(c).x))),
    ],
    [
      "HS256 keyed with the x coordinate's base64url text",
      confusion((c) => encoder.encode(String(publicJwk(c).x))),
    ],
    [
      "HS256 keyed with the public key's PEM (RS/HS confusion)",
      confusion(async (c) => {
        const key = await importJWK(publicJwk(c) as JWK, "ES256");
        if (!(key instanceof CryptoKey)) throw new Error("expected a CryptoKey");
        return encoder.encode(await exportSPKI(key));
      }),
    ],
    ["HS256 keyed with the kid", confusion((c) => encoder.encode(c.issuer.kid))],
    ["HS256 keyed with an empty-looking secret", confusion(() => new Uint8Array(32))],
    ["ES256 signed by a stranger under our kid", stranger("ES256", (c) => ({ kid: c.issuer.kid }))],
    ["ES256 signed by a stranger without a kid", stranger("ES256", () => ({}))],
    ["RS256 signed by a stranger under our kid", stranger("RS256", (c) => ({ kid: c.issuer.kid }))],
    ["PS256 signed by a stranger under our kid", stranger("PS256", (c) => ({ kid: c.issuer.kid }))],
    ["ES384 signed by a stranger under our kid", stranger("ES384", (c) => ({ kid: c.issuer.kid }))],
    ["EdDSA signed by a stranger under our kid", stranger("EdDSA", (c) => ({ kid: c.issuer.kid }))],
    ["an unknown kid", kidOf("4a1f0c6e-0000-4000-8000-000000000000")],
    ["a path-traversal kid", kidOf("../../../../etc/passwd")],
    ["an SQL-injection kid", kidOf("' or 1=1 --")],
    ["a URL as the kid", kidOf("https://attacker.example/jwks.json")],
    ["a 10 000-character kid", kidOf("k".repeat(10_000))],
    ["a kid with a NUL byte", kidOf("kid\u0000evil")],
    [
      "a jku header pointing at the attacker's key set",
      strangerWith(() => ({
        jku: "https://attacker.example/.well-known/jwks.json",
      })),
    ],
    [
      "an x5u header pointing at the attacker's certificate",
      strangerWith(() => ({
        x5u: "https://attacker.example/cert.pem",
      })),
    ],
    ["an embedded jwk header with the attacker's key", strangerWith((jwk) => ({ jwk }))],
    [
      "an embedded jwk header with the attacker's key under our kid",
      async (c) => {
        const key = await strangerKey("ES256");
        return new SignJWT(claimsFor(c.issuer.issuer, c.user.id))
          .setProtectedHeader({ alg: "ES256", kid: c.issuer.kid, jwk: key.publicJwk })
          .sign(key.privateKey);
      },
    ],
    ["a garbage x5c certificate chain", strangerWith(() => ({ x5c: ["MIIBIjANBgkq"] }))],
    ["expired by 1 second", mint({}, { expiresIn: -1 })],
    ["expired this very second", mint({}, { expiresIn: 0 })],
    ["expired a year ago", mint({}, { expiresIn: -YEAR })],
    ["not valid for another minute (nbf)", mint({}, { notBefore: 60 })],
    ["not valid for another year (nbf)", mint({}, { notBefore: YEAR })],
    ["an nbf that is a string", mint({ nbf: "0" })],
    ["audience `anon`", mint({ aud: "anon" })],
    ["no audience", mint({ aud: undefined })],
    ["an audience array without `authenticated`", mint({ aud: ["anon", "service_role"] })],
    ["an empty audience array", mint({ aud: [] })],
    ["audience `Authenticated` in another case", mint({ aud: "Authenticated" })],
    ["an audience that is a number", mint({ aud: 1 })],
    ["an issuer on another host", mint({}, { issuer: "https://evil.example/auth/v1" })],
    ["an empty issuer", mint({}, { issuer: "" })],
    [
      "the issuer with a trailing slash",
      (c) => c.issuer.mint({ sub: c.user.id }, { issuer: `${c.issuer.issuer}/` }),
    ],
    [
      "the issuer over https",
      (c) =>
        c.issuer.mint({ sub: c.user.id }, { issuer: c.issuer.issuer.replace("http:", "https:") }),
    ],
    ["role `anon`", mint({ role: "anon" })],
    ["role `service_role`", mint({ role: "service_role" })],
    ["role `postgres`", mint({ role: "postgres" })],
    ["role `supabase_admin`", mint({ role: "supabase_admin" })],
    ["no role", mint({ role: undefined })],
    ["an empty role", mint({ role: "" })],
    ["role `Authenticated` in another case", mint({ role: "Authenticated" })],
    ["role as an array", mint({ role: ["authenticated"] })],
    ["an empty sub", (c) => c.issuer.mint({ sub: "" })],
    ["a sub that is not a UUID", (c) => c.issuer.mint({ sub: "not-a-uuid" })],
    ["an SQL-injection sub", (c) => c.issuer.mint({ sub: "' or 1=1 --" })],
    ["a UUID with an SQL tail as sub", (c) => c.issuer.mint({ sub: `${c.user.id}' or '1'='1` })],
    ["a UUID with a trailing newline as sub", (c) => c.issuer.mint({ sub: `${c.user.id}\n` })],
    ["a braced UUID as sub", (c) => c.issuer.mint({ sub: `{${c.user.id}}` })],
    ["a 10 000-character sub", (c) => c.issuer.mint({ sub: "a".repeat(10_000) })],
    ["a user id with no profile", (c) => c.issuer.mint({ sub: crypto.randomUUID() })],
    ["the nil UUID", (c) => c.issuer.mint({ sub: "00000000-0000-0000-0000-000000000000" })],
    ["a publishable key", () => "sb_publishable_ZrXMaOjnQ0a2FQJz1cTGzQ_k3iFbYxz"],
    ["a secret key", () => "sb_secret_N7UND0UgjKTVK-Uodkm0Hg_xSvEMPvz"],
    ["a bare `sb_` prefix", () => "sb_"],
    ["a legacy anon key (HS256)", legacy("anon")],
    ["a legacy service_role key (HS256)", legacy("service_role")],
    [
      "a legacy-style HS256 token for the user",
      (c) =>
        new SignJWT(claimsFor(c.issuer.issuer, c.user.id))
          .setProtectedHeader({ alg: "HS256", typ: "JWT" })
          .sign(legacySecret),
    ],
    ["a token truncated by ten characters", (c) => c.user.token.slice(0, -10)],
    ["a token without its signature part", (c) => c.user.token.split(".").slice(0, 2).join(".")],
    ["a token with a fourth segment", (c) => `${c.user.token}.e30`],
    ["a five-segment JWE-shaped token", (c) => `${c.user.token}.AAAA.BBBB`],
    ["empty segments", () => ".."],
    ["a token with base64 padding", (c) => c.user.token.split(".").map((s) => `${s}==`).join(".")],
    ["a token in standard base64 (+ and /)", (c) => {
      const standard = c.user.token.replaceAll("-", "+").replaceAll("_", "/");
      // A token may happen to hold neither character; then one `+` is added to its payload.
      return standard === c.user.token ? standard.replace(".", ".+") : standard;
    }],
    ["a token with garbage base64", () => "@@@.###.$$$"],
    ["a token with one payload byte changed", tamper(1, (length) => Math.floor(length / 2))],
    ["a token with one header byte changed", tamper(0, () => 5)],
    ["a token with one signature byte changed", tamper(2, () => 3)],
    ["a token with a signature from another valid token", async (c) => {
      const other = await c.issuer.mint({ sub: c.user.id, email: "other@example.com" });
      const [header, payload] = c.user.token.split(".");
      return `${header}.${payload}.${other.split(".")[2]}`;
    }],
    ["another user's payload under this token's signature", async (c) => {
      const other = await c.issuer.mint({ sub: crypto.randomUUID() });
      const [header, , signature] = c.user.token.split(".");
      return `${header}.${other.split(".")[1]}.${signature}`;
    }],
    [
      "a token whose header is not JSON",
      (c) => `${segment("not json")}.${c.user.token.split(".")[1]}.x`,
    ],
  ];
  // Headers of odd types, over a valid payload and a signature copied from a valid token: each is
  // refused before or at the signature check, never with a type error.
  const rawHeaders: [string, (c: CaseContext) => string][] = [
    ["a numeric kid", () => '{"alg":"ES256","kid":123}'],
    ["a null kid", () => '{"alg":"ES256","kid":null}'],
    ["an object kid", () => '{"alg":"ES256","kid":{"$ne":""}}'],
    ["an HS256 header with a numeric kid", () => '{"alg":"HS256","kid":7}'],
    ["a numeric alg", () => '{"alg":256}'],
    ["a null alg", () => '{"alg":null}'],
    ["an array alg", () => '{"alg":["ES256"]}'],
    ["no alg", (c) => `{"kid":"${c.issuer.kid}"}`],
    ["an empty header object", () => "{}"],
    ["a header that is a JSON array", () => '["ES256"]'],
    ["a header that is JSON null", () => "null"],
    ["a crit that is a string", (c) => `{"alg":"ES256","kid":"${c.issuer.kid}","crit":"exp"}`],
    ["an empty crit", (c) => `{"alg":"ES256","kid":"${c.issuer.kid}","crit":[]}`],
    ["a b64 that is a string", (c) => `{"alg":"ES256","kid":"${c.issuer.kid}","b64":"false"}`],
    [
      "an embedded jwk that is a string",
      (c) => `{"alg":"ES256","kid":"${c.issuer.kid}","jwk":"attacker"}`,
    ],
    ["alg and kid on `__proto__`", (c) => `{"__proto__":{"alg":"ES256","kid":"${c.issuer.kid}"}}`],
    [
      "a duplicate alg ending as none",
      (c) => `{"alg":"ES256","kid":"${c.issuer.kid}","alg":"none"}`,
    ],
  ];
  for (const [name, header] of rawHeaders) {
    rows.push([`${name} in the JOSE header`, (c) => {
      const [, payload, signature] = c.user.token.split(".");
      return `${segment(header(c))}.${payload}.${signature}`;
    }]);
  }
  return rows.map(([name, token, error]) => ({
    name,
    target,
    status: 401,
    error,
    build: async (c) => withAuthorization(target, `Bearer ${await token(c)}`),
  }));
}

/** Rows only a key we hold can sign: claims the harness issuer's `mint` cannot leave out. */
export function controlledTokenCases(target: Target): HostileCase[] {
  const signed = (payload: (c: CaseContext) => unknown, header?: Record<string, unknown>) =>
  (
    c: CaseContext,
  ) =>
    c.controlled.sign({ alg: "ES256", kid: c.controlled.kid, typ: "JWT", ...header }, payload(c));
  const without = (claim: string) =>
    signed((c) => {
      const claims = claimsFor(c.issuer.issuer, c.user.id);
      delete claims[claim];
      return claims;
    });
  const withClaim = (claim: string, value: unknown) =>
    signed((c) => ({ ...claimsFor(c.issuer.issuer, c.user.id), [claim]: value }));
  const rows: TokenRow[] = [
    ["no sub", without("sub")],
    ["a numeric sub", withClaim("sub", 12345)],
    ["a null sub", withClaim("sub", null)],
    ["a sub that is an object", withClaim("sub", { id: "x" })],
    ["no exp", without("exp")],
    ["an exp that is a string", withClaim("exp", "9999999999")],
    ["an exp that is null", withClaim("exp", null)],
    ["no iss", without("iss")],
    ["an iss that is null", withClaim("iss", null)],
    ["an iat that is a string", withClaim("iat", "now")],
    [
      "role and sub only on the prototype (`__proto__`)",
      signed((c) =>
        `{"aud":"authenticated","iss":"${c.issuer.issuer}","exp":${now() + 3600},` +
        `"__proto__":{"role":"authenticated","sub":"${c.user.id}"}}`
      ),
    ],
    ["a payload that is a JSON array", signed(() => [1, 2, 3])],
    ["a payload that is JSON null", signed(() => "null")],
    ["a payload that is not JSON", signed(() => "not json at all")],
    ["a payload that is not UTF-8", signed(() => INVALID_UTF8)],
    ["a payload of 100 000 nested arrays", signed(() => deepJson(100_000))],
    [
      "a crit header naming an unknown extension",
      signed(
        (c) => claimsFor(c.issuer.issuer, c.user.id),
        { crit: ["http://attacker.example/ext"], "http://attacker.example/ext": true },
      ),
    ],
    [
      "an unencoded payload (b64: false)",
      signed(
        (c) => claimsFor(c.issuer.issuer, c.user.id),
        { b64: false, crit: ["b64"] },
      ),
    ],
    [
      "a header that says HS256 over an ES256 signature",
      signed(
        (c) => claimsFor(c.issuer.issuer, c.user.id),
        { alg: "HS256" },
      ),
    ],
  ];
  return rows.map(([name, token, error]) => ({
    name: `${name} (signed by a key the handler trusts)`,
    target,
    status: 401,
    error,
    build: async (c) => withAuthorization(target, `Bearer ${await token(c)}`),
  }));
}

/** A token issued ahead of the server's clock is refused beyond a small tolerance for drift. */
export function futureIatCases(target: Target): HostileCase[] {
  return [
    {
      name: "a token issued an hour in the future",
      target,
      status: 401,
      error: "Invalid access token",
      build: async (c) =>
        withAuthorization(target, `Bearer ${await mintAt(c.issuer, 3600, c.user.id)}`),
    },
    {
      name: "a token issued 10 s ahead of the server's clock (within the tolerance)",
      target,
      status: 400,
      error: (c) => c.acceptedMessage,
      build: async (c) =>
        withAuthorization(target, `Bearer ${await mintAt(c.issuer, 10, c.user.id)}`),
    },
  ];
}
