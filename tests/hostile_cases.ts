/**
 * The hostile input corpus: rows of requests that each of the three functions must refuse with a
 * 4xx and a bare `{"error"}` body, plus the helpers that forge them (tokens, Stripe signatures)
 * and the draws the fuzz loop makes from a seeded generator.
 */
import {
  base64url,
  exportJWK,
  exportSPKI,
  generateKeyPair,
  importJWK,
  type JWK,
  SignJWT,
} from "npm:jose@6.2.18";
import { signPayload } from "../dev/stripe/mod.ts";
import type { LocalIssuer, MintOptions } from "../dev/issuer.ts";
import type { JsonWebKeySet, Jwk } from "../supabase/functions/_shared/config.ts";
import { STRIPE_SECRET_KEY, type TestUser } from "./harness.ts";

/** The function a case is sent to. `*-controlled` are the same handlers built on a key we hold. */
export type Target =
  | "checkout"
  | "portal"
  | "webhook"
  | "checkout-controlled"
  | "portal-controlled";

/** What a case builds its request from. */
export interface CaseContext {
  /**
   * A user whose valid token its target refuses with 400, without a Stripe call: active
   * (checkout: "Already subscribed") or without a customer (portal: "No active subscription").
   */
  user: TestUser;
  /** The 400 message a valid token of `user` gets from this target. */
  acceptedMessage: string;
  issuer: LocalIssuer;
  /** The key behind the `*-controlled` handlers: signs any header and payload bytes. */
  controlled: ControlledKey;
  webhookSecret: string;
}

/** One hostile request and the answer it must get. */
export interface HostileCase {
  name: string;
  target: Target;
  /** The exact status. */
  status: number;
  /** The exact message, when it is determined; otherwise any message of {@link MESSAGES}. */
  error?: string | ((context: CaseContext) => string);
  build(context: CaseContext): Request | Promise<Request>;
}

/** Every message a refusal may carry, by status: short sentences, never a cause. */
export const MESSAGES: Readonly<Record<number, readonly string[]>> = {
  400: [
    "Already subscribed",
    "No active subscription",
    "Invalid signature",
    "Invalid payload",
  ],
  401: [
    "Missing authorization header",
    "Invalid authorization header",
    "An API key is not a user access token",
    "Invalid access token",
    "Access token is not a signed-in user's",
    "User not found",
  ],
  405: ["Method not allowed"],
  413: ["Payload too large"],
};

const encoder = new TextEncoder();
const KIB = 1024;
const MIB = 1024 * KIB;
const YEAR = 365 * 24 * 3600;

/** Base64url of a string, bytes or a JSON value. */
function segment(value: unknown): string {
  if (value instanceof Uint8Array) return base64url.encode(value);
  return base64url.encode(typeof value === "string" ? value : JSON.stringify(value));
}

function now(): number {
  return Math.floor(Date.now() / 1000);
}

// ---- keys ---------------------------------------------------------------------------------------

/** An ES256 key the tests hold, with its public JWKS, that signs arbitrary bytes. */
export interface ControlledKey {
  kid: string;
  jwks: JsonWebKeySet;
  /** A compact JWS over the given header and payload (objects are JSON-encoded). */
  sign(header: unknown, payload: unknown): Promise<string>;
}

/** A key pair of `alg`, and its public JWK. */
async function strangerKey(alg: string) {
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
function claimsFor(issuer: string, sub: unknown): Record<string, unknown> {
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
function hmacToken(
  claims: Record<string, unknown>,
  secret: Uint8Array,
  header: Record<string, unknown>,
): Promise<string> {
  return new SignJWT(claims).setProtectedHeader({ alg: "HS256", ...header }).sign(secret);
}

/** Mints a token with the harness issuer's real key while the clock reads `offset` seconds ahead. */
async function mintAt(
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
function changeCharAt(text: string, index: number): string {
  const old = text[index];
  const replacement = old === "A" ? "B" : "A";
  return `${text.slice(0, index)}${replacement}${text.slice(index + 1)}`;
}

// ---- requests -----------------------------------------------------------------------------------

const PATHS: Record<Target, string> = {
  checkout: "/functions/v1/stripe-checkout",
  portal: "/functions/v1/stripe-portal",
  webhook: "/functions/v1/stripe-webhook",
  "checkout-controlled": "/functions/v1/stripe-checkout",
  "portal-controlled": "/functions/v1/stripe-portal",
};

/** A request to `target`, POST unless `init` says otherwise. */
export function requestTo(target: Target, init: RequestInit = {}): Request {
  return new Request(`http://127.0.0.1${PATHS[target]}`, { method: "POST", ...init });
}

/** A POST whose Authorization header is exactly `authorization` (none when null). */
function withAuthorization(
  target: Target,
  authorization: string | null,
  init: RequestInit = {},
): Request {
  const headers = new Headers(init.headers);
  if (authorization !== null) headers.set("Authorization", authorization);
  return requestTo(target, { ...init, headers });
}

/** A body stream of `chunks`, then closed, errored (a client that drops mid-upload), or endless. */
function streamOf(chunks: Uint8Array[], end: "close" | "error" | "endless"): ReadableStream {
  let index = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      const chunk = chunks[index++ % Math.max(chunks.length, 1)];
      if (end === "endless" || index <= chunks.length) {
        controller.enqueue(chunk ?? new Uint8Array(KIB));
        return;
      }
      if (end === "error") controller.error(new Error("connection reset by peer"));
      else controller.close();
    },
  });
}

/** Bytes that are not UTF-8. */
const INVALID_UTF8 = new Uint8Array([0x7b, 0xff, 0xfe, 0xc3, 0x28, 0xa0, 0xa1, 0xe2, 0x28, 0x7d]);

/** `[[[...]]]`, `depth` deep. */
function deepJson(depth: number): string {
  return "[".repeat(depth) + "]".repeat(depth);
}

// ---- Authorization header and token families (checkout and portal) ----------------------------

/**
 * Rows about the Authorization header itself. CR, LF and NUL cannot be injected: `Headers`
 * refuses them before a request exists (as an HTTP server would), so tabs and spaces stand in.
 */
function headerCases(target: Target): HostileCase[] {
  const rows: [string, (c: CaseContext) => string | null, string?][] = [
    ["no Authorization header", () => null, "Missing authorization header"],
    ["an empty Authorization header", () => "", "Missing authorization header"],
    ["an Authorization header of spaces and tabs", () => " \t  ", "Missing authorization header"],
    ["`Bearer` with nothing after it", () => "Bearer", "Invalid authorization header"],
    ["`Bearer` and spaces", () => "Bearer    ", "Invalid authorization header"],
    ["`Basic` credentials", () => "Basic dXNlcjpwYXNzd29yZA==", "Invalid authorization header"],
    ["`Basic` with a valid token", (c) => `Basic ${c.user.token}`, "Invalid authorization header"],
    ["`Token` with a valid token", (c) => `Token ${c.user.token}`, "Invalid authorization header"],
    ["a valid token without a scheme", (c) => c.user.token, "Invalid authorization header"],
    ["`Bearer:` with a colon", (c) => `Bearer: ${c.user.token}`, "Invalid authorization header"],
    [
      "`Bearer=` glued to the token",
      (c) => `Bearer=${c.user.token}`,
      "Invalid authorization header",
    ],
    [
      "`Bearertoken` without a space",
      (c) => `Bearer${c.user.token}`,
      "Invalid authorization header",
    ],
    ["lowercase `bearer` with garbage", () => "bearer garbage", "Invalid access token"],
    [
      "uppercase `BEARER` with garbage",
      () => "BEARER g4rb4ge.g4rb4ge.g4rb4ge",
      "Invalid access token",
    ],
    ["two tokens separated by a space", (c) => `Bearer ${c.user.token} ${c.user.token}`],
    ["two Bearer credentials separated by a comma", (c) => `Bearer ${c.user.token}, Bearer x`],
    ["a valid token followed by a tab and garbage", (c) => `Bearer ${c.user.token}\tgarbage`],
    ["a tab injected inside the token", (c) => `Bearer ${c.user.token.replace(".", ".\t")}`],
    ["a space injected inside the token", (c) => `Bearer ${c.user.token.replace(".", ". ")}`],
    ["a no-break space between scheme and token", (c) => `Bearer\u00a0${c.user.token}`],
    ["a no-break space inside the token", (c) => `Bearer ${c.user.token.replace(".", "\u00a0.")}`],
    ["a 16 KiB token", () => `Bearer ${"A".repeat(16 * KIB)}`, "Invalid access token"],
    ["a 64 KiB token", () => `Bearer ${"A".repeat(64 * KIB)}`, "Invalid access token"],
    [
      "a 1 MiB three-part token",
      () => `Bearer ${"e".repeat(MIB / 2)}.${"e".repeat(MIB / 2)}.x`,
      "Invalid access token",
    ],
    ["Latin-1 bytes as the token", () => "Bearer \u00e9\u00ff\u00e0\u00e7", "Invalid access token"],
    ["a valid token with a Latin-1 byte appended", (c) => `Bearer ${c.user.token}\u00e9`],
    ["a Latin-1 scheme", (c) => `B\u00e9arer ${c.user.token}`, "Invalid authorization header"],
    ["`Bearer null`", () => "Bearer null", "Invalid access token"],
    ["`Bearer undefined`", () => "Bearer undefined", "Invalid access token"],
    ["`Bearer [object Object]`", () => "Bearer [object Object]"],
    ["`Bearer {}`", () => "Bearer {}", "Invalid access token"],
    ["`Bearer true`", () => "Bearer true", "Invalid access token"],
    ["`Bearer 0`", () => "Bearer 0", "Invalid access token"],
    ["`Bearer NaN`", () => "Bearer NaN", "Invalid access token"],
  ];
  const cases: HostileCase[] = rows.map(([name, authorization, error]) => ({
    name,
    target,
    status: 401,
    error,
    build: (c) => withAuthorization(target, authorization(c)),
  }));
  cases.push(
    {
      name: "two Authorization headers, both valid",
      target,
      status: 401,
      error: "Invalid authorization header",
      build: (c) => {
        const headers = new Headers();
        headers.append("Authorization", `Bearer ${c.user.token}`);
        headers.append("Authorization", `Bearer ${c.user.token}`);
        return requestTo(target, { headers });
      },
    },
    {
      name: "the token only in an apikey header",
      target,
      status: 401,
      error: "Missing authorization header",
      build: (c) => requestTo(target, { headers: { apikey: c.user.token } }),
    },
    {
      name: "the token only in a Supabase session cookie",
      target,
      status: 401,
      error: "Missing authorization header",
      build: (c) => requestTo(target, { headers: { cookie: `sb-access-token=${c.user.token}` } }),
    },
    {
      name: "the token under a misspelt Authorisation header",
      target,
      status: 401,
      error: "Missing authorization header",
      build: (c) => requestTo(target, { headers: { Authorisation: `Bearer ${c.user.token}` } }),
    },
  );
  return cases;
}

/** A token row: `token` builds the credential that follows `Bearer `. */
type TokenRow = [string, (c: CaseContext) => string | Promise<string>, string?];

/** Rows about tokens presented to the harness's real issuer. */
function tokenCases(target: Target): HostileCase[] {
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
function controlledTokenCases(target: Target): HostileCase[] {
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

/** Rows with a valid token and a hostile body: the body is ignored, so the user's 400 stands. */
function bodyCases(target: Target): HostileCase[] {
  const rows: [string, () => RequestInit][] = [
    ["a 2 MiB body", () => ({ body: "x".repeat(2 * MIB) })],
    ["a body that is not UTF-8", () => ({ body: INVALID_UTF8 })],
    ["a body of 100 000 nested arrays", () => ({
      body: deepJson(100_000),
      headers: { "Content-Type": "application/json" },
    })],
    ["a body with `__proto__` and `constructor` keys", () => ({
      body: '{"__proto__":{"isAdmin":true},"constructor":{"prototype":{"polluted":1}}}',
      headers: { "Content-Type": "application/json" },
    })],
    ["a body overriding price, customer, mode and user", () => ({
      body: JSON.stringify({
        priceId: "price_attacker",
        price: "price_attacker",
        customer: "cus_attacker",
        mode: "payment",
        userId: crypto.randomUUID(),
        success_url: "https://attacker.example/",
      }),
      headers: { "Content-Type": "application/json" },
    })],
    ["a form-encoded body", () => ({
      body: "price=price_attacker&customer=cus_attacker",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
    })],
    ["a body that claims JSON and is not", () => ({
      body: "{not json",
      headers: { "Content-Type": "application/json" },
    })],
    ["a body of NUL bytes", () => ({ body: new Uint8Array(4 * KIB) })],
    ["a body stream that errors mid-way", () => ({
      body: streamOf([encoder.encode('{"priceId":')], "error"),
    })],
    ["an endless body stream", () => ({ body: streamOf([], "endless") })],
    ["a Content-Length that claims 10 bytes of a 100-byte body", () => ({
      body: "y".repeat(100),
      headers: { "Content-Length": "10" },
    })],
  ];
  return rows.map(([name, init]) => ({
    name: `a valid token with ${name}`,
    target,
    status: 400,
    error: (c) => c.acceptedMessage,
    build: (c) => withAuthorization(target, `Bearer ${c.user.token}`, init()),
  }));
}

/** A token issued ahead of the server's clock is refused beyond a small tolerance for drift. */
function futureIatCases(target: Target): HostileCase[] {
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

// ---- methods ------------------------------------------------------------------------------------

const WRONG_METHODS = ["GET", "PUT", "PATCH", "DELETE", "HEAD", "PROPFIND", "FOO"];

function methodCases(target: Target): HostileCase[] {
  return WRONG_METHODS.map((method) => ({
    name: `method ${method}`,
    target,
    status: 405,
    error: "Method not allowed",
    build: (c) => {
      const headers = new Headers({ "Stripe-Signature": "t=1,v1=00" });
      if (target !== "webhook") headers.set("Authorization", `Bearer ${c.user.token}`);
      const body = method === "GET" || method === "HEAD" ? undefined : "{}";
      return requestTo(target, { method, headers, body });
    },
  }));
}

// ---- webhook ------------------------------------------------------------------------------------

/** A well-formed event of a type the webhook does not handle (a valid delivery answers 200). */
function sampleEvent(): string {
  return JSON.stringify({
    id: `evt_hostile_${crypto.randomUUID().replaceAll("-", "")}`,
    object: "event",
    type: "customer.updated",
    created: now(),
    data: { object: { id: "cus_hostile", object: "customer" } },
  });
}

/** HMAC-SHA256 hex of `t.payload` over raw bytes (so the payload need not be UTF-8). */
async function hmacHex(secret: string, timestamp: number, payload: Uint8Array): Promise<string> {
  const key = await crypto.subtle.importKey(
    "raw",
    encoder.encode(secret),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  const prefix = encoder.encode(`${timestamp}.`);
  const message = new Uint8Array(prefix.length + payload.length);
  message.set(prefix);
  message.set(payload, prefix.length);
  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", key, message));
  return Array.from(mac, (byte) => byte.toString(16).padStart(2, "0")).join("");
}

/** The `v1` hex of a valid signature of `payload` at `timestamp`. */
async function v1Of(payload: string, secret: string, timestamp = now()): Promise<string> {
  const header = await signPayload(payload, secret, timestamp);
  return header.slice(header.indexOf("v1=") + 3);
}

function webhookRequest(
  body: BodyInit | null,
  signature: string | null,
  headers: Record<string, string> = { "Content-Type": "application/json" },
): Request {
  const all = new Headers(headers);
  if (signature !== null) all.set("Stripe-Signature", signature);
  return requestTo("webhook", { headers: all, body });
}

// A timestamp in the future is not among the rows: Stripe's SDK only bounds a signature's age
// (now - t > tolerance), so a correctly signed future timestamp is accepted by design.
type WebhookRow = [string, number, string, (c: CaseContext) => Request | Promise<Request>];

function webhookCases(): WebhookRow[] {
  const SIG = "Invalid signature";
  const PAYLOAD = "Invalid payload";
  const LARGE = "Payload too large";
  const badSignature =
    (signature: (body: string, c: CaseContext) => Promise<string> | string) =>
    async (
      c: CaseContext,
    ) => {
      const body = sampleEvent();
      return webhookRequest(body, await signature(body, c));
    };
  const replay = (alter: (body: string) => string) => async (c: CaseContext) => {
    const body = sampleEvent();
    return webhookRequest(alter(body), await signPayload(body, c.webhookSecret));
  };
  const signedBody = (body: string) => async (c: CaseContext) =>
    webhookRequest(body, await signPayload(body, c.webhookSecret));
  const stale = (age: number) =>
    badSignature((body, c) => signPayload(body, c.webhookSecret, now() - age));
  const otherSecret = (secret: string) => badSignature((body) => signPayload(body, secret));
  const badContentType = (contentType: string | null) => () =>
    webhookRequest(
      sampleEvent(),
      `t=${now()},v1=${"0".repeat(64)}`,
      contentType === null ? {} : { "Content-Type": contentType },
    );

  return [
    ["no stripe-signature header", 400, SIG, () => webhookRequest(sampleEvent(), null)],
    ["an empty stripe-signature header", 400, SIG, () => webhookRequest(sampleEvent(), "")],
    ["a garbage stripe-signature header", 400, SIG, () => webhookRequest(sampleEvent(), "garbage")],
    ["`t=` only", 400, SIG, () => webhookRequest(sampleEvent(), `t=${now()}`)],
    ["an empty `t=` and `v1=`", 400, SIG, () => webhookRequest(sampleEvent(), "t=,v1=")],
    [
      "`v1=` only, with a valid signature",
      400,
      SIG,
      badSignature(async (body, c) => `v1=${await v1Of(body, c.webhookSecret)}`),
    ],
    [
      "a v1 one hex digit short",
      400,
      SIG,
      badSignature(async (body, c) =>
        `t=${now()},v1=${(await v1Of(body, c.webhookSecret)).slice(0, 63)}`
      ),
    ],
    [
      "a v1 one hex digit long",
      400,
      SIG,
      badSignature(async (body, c) => `t=${now()},v1=${await v1Of(body, c.webhookSecret)}0`),
    ],
    [
      "a valid v1 in uppercase hex",
      400,
      SIG,
      badSignature(async (body, c) =>
        `t=${now()},v1=${(await v1Of(body, c.webhookSecret)).toUpperCase()}`
      ),
    ],
    ["a v1 that is not hex", 400, SIG, badSignature(() => `t=${now()},v1=${"z".repeat(64)}`)],
    ["a v1 in base64", 400, SIG, badSignature(() => `t=${now()},v1=${btoa("x".repeat(32))}`)],
    ["a signature with another endpoint's secret", 400, SIG, otherSecret("whsec_other_endpoint")],
    ["a signature with the API secret key", 400, SIG, otherSecret(STRIPE_SECRET_KEY)],
    ["a signature with the secret's prefix only", 400, SIG, otherSecret("whsec_")],
    [
      "a signature with the secret plus a newline",
      400,
      SIG,
      (c) => otherSecret(`${c.webhookSecret}\n`)(c),
    ],
    [
      "a signature with the secret without its prefix",
      400,
      SIG,
      (c) => otherSecret(c.webhookSecret.replace("whsec_", ""))(c),
    ],
    ["a timestamp 301 seconds old", 400, SIG, stale(301)],
    ["a timestamp a day old", 400, SIG, stale(24 * 3600)],
    ["a timestamp a year old", 400, SIG, stale(YEAR)],
    ["timestamp zero", 400, SIG, stale(now())],
    [
      "a negative timestamp",
      400,
      SIG,
      badSignature(async (body, c) => `t=-1,v1=${await v1Of(body, c.webhookSecret, -1)}`),
    ],
    [
      "a non-numeric timestamp",
      400,
      SIG,
      badSignature(async (body, c) => `t=abc,v1=${await v1Of(body, c.webhookSecret)}`),
    ],
    [
      "a valid signature under a different t",
      400,
      SIG,
      badSignature(async (body, c) =>
        `t=${now()},v1=${await v1Of(body, c.webhookSecret, now() - 10)}`
      ),
    ],
    [
      "a second, stale t after a valid signature",
      400,
      SIG,
      badSignature(async (body, c) =>
        `${await signPayload(body, c.webhookSecret)},t=${now() - 3600}`
      ),
    ],
    [
      "a space after the comma",
      400,
      SIG,
      badSignature(async (body, c) =>
        (await signPayload(body, c.webhookSecret)).replace(",", ", ")
      ),
    ],
    [
      "a semicolon instead of a comma",
      400,
      SIG,
      badSignature(async (body, c) => (await signPayload(body, c.webhookSecret)).replace(",", ";")),
    ],
    [
      "the scheme `v0=` only",
      400,
      SIG,
      badSignature(async (body, c) =>
        (await signPayload(body, c.webhookSecret)).replace("v1=", "v0=")
      ),
    ],
    [
      "the scheme `V1=` in uppercase",
      400,
      SIG,
      badSignature(async (body, c) =>
        (await signPayload(body, c.webhookSecret)).replace("v1=", "V1=")
      ),
    ],
    [
      "three v1 values, none matching",
      400,
      SIG,
      badSignature(() =>
        `t=${now()},v1=${"a".repeat(64)},v1=${"b".repeat(64)},v1=${"c".repeat(64)}`
      ),
    ],
    [
      "ten thousand v1 values, none matching",
      400,
      SIG,
      badSignature(() =>
        `t=${now()},${Array.from({ length: 10_000 }, () => `v1=${"d".repeat(64)}`).join(",")}`
      ),
    ],
    [
      "a 64 KiB signature header",
      400,
      SIG,
      badSignature(() => `t=${now()},v1=${"e".repeat(64 * KIB)}`),
    ],
    [
      "Latin-1 bytes in the signature header",
      400,
      SIG,
      badSignature(() => `t=${now()},v1=\u00e9\u00ff${"f".repeat(60)}`),
    ],
    [
      "a replayed signature over a body with one byte changed",
      400,
      SIG,
      replay((body) => body.replace("customer.updated", "customer.updatee")),
    ],
    ["a replayed signature over a body with a space appended", 400, SIG, replay((b) => `${b} `)],
    ["a replayed signature over a body with a newline appended", 400, SIG, replay((b) => `${b}\n`)],
    [
      "a replayed signature over the same JSON with keys reordered",
      400,
      SIG,
      replay((body) => {
        const event = JSON.parse(body) as Record<string, unknown>;
        return JSON.stringify(Object.fromEntries(Object.entries(event).reverse()));
      }),
    ],
    [
      "a replayed signature over the same JSON pretty-printed",
      400,
      SIG,
      replay((body) => JSON.stringify(JSON.parse(body), null, 2)),
    ],
    ["a replayed signature over another event", 400, SIG, replay(() => sampleEvent())],
    ["a valid signature for an empty body", 400, SIG, signedBody("")],
    ["a bad signature on an empty body", 400, SIG, () => webhookRequest(null, `t=${now()},v1=00`)],
    [
      "a body of exactly 1 MiB with a bad signature",
      400,
      SIG,
      () => webhookRequest("x".repeat(MIB), `t=${now()},v1=00`),
    ],
    [
      "a body over 1 MiB with its Content-Length",
      413,
      LARGE,
      () =>
        webhookRequest("x".repeat(MIB + 1), `t=${now()},v1=00`, { "Content-Length": `${MIB + 1}` }),
    ],
    [
      "a body over 1 MiB without a Content-Length",
      413,
      LARGE,
      () => webhookRequest(streamOf([new Uint8Array(MIB + 1)], "close"), `t=${now()},v1=00`),
    ],
    ["a body over 1 MiB in many chunks", 413, LARGE, () =>
      webhookRequest(
        streamOf(Array.from({ length: 1025 }, () => new Uint8Array(KIB)), "close"),
        `t=${now()},v1=00`,
      )],
    ["a validly signed body over 1 MiB", 413, LARGE, signedBody(`{"pad":"${"p".repeat(MIB)}"}`)],
    [
      "an endless body stream",
      413,
      LARGE,
      () => webhookRequest(streamOf([], "endless"), `t=${now()},v1=00`),
    ],
    [
      "a Content-Length of 10 GB on a small body",
      413,
      LARGE,
      () => webhookRequest("{}", `t=${now()},v1=00`, { "Content-Length": "10000000000" }),
    ],
    [
      "a Content-Length of 10 on a larger body",
      400,
      SIG,
      () => webhookRequest(sampleEvent(), `t=${now()},v1=00`, { "Content-Length": "10" }),
    ],
    [
      "a Content-Length of 10 on a body over 1 MiB",
      413,
      LARGE,
      () => webhookRequest("x".repeat(MIB + 1), `t=${now()},v1=00`, { "Content-Length": "10" }),
    ],
    [
      "a non-numeric Content-Length",
      400,
      SIG,
      () => webhookRequest(sampleEvent(), `t=${now()},v1=00`, { "Content-Length": "abc" }),
    ],
    [
      "a negative Content-Length",
      400,
      SIG,
      () => webhookRequest(sampleEvent(), `t=${now()},v1=00`, { "Content-Length": "-1" }),
    ],
    ["Content-Type text/plain and a bad signature", 400, SIG, badContentType("text/plain")],
    [
      "Content-Type multipart/form-data and a bad signature",
      400,
      SIG,
      badContentType(
        "multipart/form-data; boundary=xyz",
      ),
    ],
    [
      "a form-encoded Content-Type and a bad signature",
      400,
      SIG,
      badContentType(
        "application/x-www-form-urlencoded",
      ),
    ],
    ["no Content-Type and a bad signature", 400, SIG, badContentType(null)],
    [
      "a body that is not UTF-8 with a bad signature",
      400,
      SIG,
      () => webhookRequest(INVALID_UTF8, `t=${now()},v1=${"0".repeat(64)}`),
    ],
    ["a body that is not UTF-8, signed over its raw bytes", 400, SIG, async (c) => {
      const t = now();
      return webhookRequest(
        INVALID_UTF8,
        `t=${t},v1=${await hmacHex(c.webhookSecret, t, INVALID_UTF8)}`,
      );
    }],
    [
      "a body of 100 000 nested arrays with a bad signature",
      400,
      SIG,
      () => webhookRequest(deepJson(100_000), `t=${now()},v1=${"0".repeat(64)}`),
    ],
    [
      "a body stream that errors mid-way",
      400,
      "Could not read the request body",
      () => webhookRequest(streamOf([encoder.encode('{"id":')], "error"), `t=${now()},v1=00`),
    ],
    ["a validly signed body that is not JSON", 400, PAYLOAD, signedBody("not json")],
    ["a validly signed truncated JSON body", 400, PAYLOAD, signedBody('{"id":"evt_1","type":')],
    ["a validly signed body of 100 000 nested arrays", 400, PAYLOAD, signedBody(deepJson(100_000))],
    ["a validly signed `{}`", 400, PAYLOAD, signedBody("{}")],
    ["a validly signed `[]`", 400, PAYLOAD, signedBody("[]")],
    ["a validly signed string", 400, PAYLOAD, signedBody('"evt_1"')],
    ["a validly signed number", 400, PAYLOAD, signedBody("42")],
    ["a validly signed `true`", 400, PAYLOAD, signedBody("true")],
    ['a validly signed `{"id":1}`', 400, PAYLOAD, signedBody('{"id":1}')],
    [
      "a validly signed event with an empty id",
      400,
      PAYLOAD,
      signedBody(
        '{"id":"","type":"invoice.paid","data":{"object":{}}}',
      ),
    ],
    [
      "a validly signed event whose type is a number",
      400,
      PAYLOAD,
      signedBody(
        '{"id":"evt_1","type":1,"data":{"object":{}}}',
      ),
    ],
    [
      "a validly signed event without a type",
      400,
      PAYLOAD,
      signedBody(
        '{"id":"evt_1","data":{"object":{}}}',
      ),
    ],
    [
      "a validly signed event with `data: null`",
      400,
      PAYLOAD,
      signedBody(
        '{"id":"evt_1","type":"invoice.paid","data":null}',
      ),
    ],
    [
      "a validly signed event without data",
      400,
      PAYLOAD,
      signedBody(
        '{"id":"evt_1","type":"invoice.paid"}',
      ),
    ],
    [
      "a validly signed event with `data.object: null`",
      400,
      PAYLOAD,
      signedBody(
        '{"id":"evt_1","type":"customer.subscription.updated","data":{"object":null}}',
      ),
    ],
    [
      "a validly signed event whose data.object is a string",
      400,
      PAYLOAD,
      signedBody(
        '{"id":"evt_1","type":"checkout.session.completed","data":{"object":"cs_1"}}',
      ),
    ],
    [
      "a validly signed event whose data is an array",
      400,
      PAYLOAD,
      signedBody(
        '{"id":"evt_1","type":"invoice.paid","data":[{"object":{}}]}',
      ),
    ],
    [
      "a validly signed event with id and data only on `__proto__`",
      400,
      PAYLOAD,
      signedBody(
        '{"type":"invoice.paid","__proto__":{"id":"evt_1","data":{"object":{}}}}',
      ),
    ],
    [
      "a validly signed event whose duplicate id key ends as a number",
      400,
      PAYLOAD,
      signedBody(
        '{"id":"evt_1","type":"invoice.paid","data":{"object":{}},"id":7}',
      ),
    ],
    [
      "a validly signed thin (v2) event notification",
      400,
      PAYLOAD,
      signedBody(
        '{"id":"evt_1","object":"v2.core.event","type":"v1.billing.meter.error_report_triggered"}',
      ),
    ],
    ["a validly signed JSON `null`", 400, PAYLOAD, signedBody("null")],
  ];
}

/** Every row of the corpus. */
export function hostileCorpus(): HostileCase[] {
  const cases: HostileCase[] = [];
  for (const target of ["checkout", "portal"] as const) {
    cases.push(...headerCases(target), ...tokenCases(target), ...bodyCases(target));
    cases.push(...futureIatCases(target));
  }
  for (const target of ["checkout-controlled", "portal-controlled"] as const) {
    cases.push(...controlledTokenCases(target));
  }
  for (const target of ["checkout", "portal", "webhook"] as const) {
    cases.push(...methodCases(target));
  }
  for (const [name, status, error, build] of webhookCases()) {
    cases.push({ name, target: "webhook", status, error, build });
  }
  return cases;
}

// ---- fuzzing ------------------------------------------------------------------------------------

/** Draws from a seeded generator. */
export class Draw {
  constructor(readonly random: () => number) {}

  int(below: number): number {
    return Math.floor(this.random() * below);
  }

  chance(probability: number): boolean {
    return this.random() < probability;
  }

  pick<T>(items: readonly T[]): T {
    const item = items[this.int(items.length)];
    if (item === undefined) throw new Error("Cannot pick from an empty list");
    return item;
  }

  /** A header-safe character: printable ASCII, tab, or Latin-1 (never CR, LF or NUL). */
  headerChar(): string {
    const roll = this.random();
    if (roll < 0.05) return "\t";
    if (roll < 0.2) return String.fromCharCode(0xa0 + this.int(0x60));
    return String.fromCharCode(0x20 + this.int(0x5f));
  }

  headerText(maxLength: number): string {
    return Array.from({ length: this.int(maxLength + 1) }, () => this.headerChar()).join("");
  }

  bytes(length: number): Uint8Array<ArrayBuffer> {
    const bytes = new Uint8Array(length);
    for (let i = 0; i < length; i++) bytes[i] = this.int(256);
    return bytes;
  }

  /** `text` with 1 to `max` header-safe characters replaced, inserted or deleted. */
  mutateText(text: string, max = 4): string {
    let result = text;
    for (let i = 0, n = 1 + this.int(max); i < n; i++) {
      const at = this.int(result.length + 1);
      const op = this.int(3);
      if (op === 0) result = result.slice(0, at) + this.headerChar() + result.slice(at + 1);
      else if (op === 1) result = result.slice(0, at) + this.headerChar() + result.slice(at);
      else result = result.slice(0, at) + result.slice(at + 1);
    }
    return result;
  }

  /** `bytes` with 1 to `max` random bytes flipped. */
  flipBytes(bytes: Uint8Array, max = 4): Uint8Array<ArrayBuffer> {
    const copy = new Uint8Array(bytes);
    if (copy.length === 0) return copy;
    for (let i = 0, n = 1 + this.int(max); i < n; i++) {
      const at = this.int(copy.length);
      copy[at] = (copy[at] ?? 0) ^ (1 + this.int(255));
    }
    return copy;
  }
}

/** Methods other than POST the fuzz loop sends (one request in five). */
export const FUZZ_OTHER_METHODS = [
  "GET",
  "PUT",
  "PATCH",
  "DELETE",
  "HEAD",
  "OPTIONS",
  "PROPFIND",
];

/** Values a signed event's fields are replaced with: none of them makes an event we apply. */
const ODD_VALUES: readonly unknown[] = [
  null,
  0,
  -1,
  "",
  "x",
  true,
  [],
  {},
  [{}],
  { object: null },
  { object: {} },
  { object: "cus_1" },
  "customer.updated",
  "charge.succeeded",
  "__proto__",
];

/**
 * A sample event with one to three fields (id, type, data, data.object, ...) replaced by odd
 * values, or an odd JSON document instead of an object. Its type is never one the webhook
 * applies, so even a well-shaped result is acknowledged without a write or a Stripe call.
 */
export function reshapedEvent(draw: Draw): string {
  if (draw.chance(0.1)) return draw.pick(["[]", "{}", "42", '"evt_1"', "true", "[null]", "{}{}"]);
  const event = JSON.parse(sampleEvent()) as Record<string, unknown>;
  for (let i = 0, n = 1 + draw.int(3); i < n; i++) {
    const value = draw.pick(ODD_VALUES);
    const field = draw.pick(["id", "type", "data", "object", "created", "data.object", "extra"]);
    if (field === "data.object") event.data = { object: value };
    else event[field] = value;
  }
  return JSON.stringify(event);
}

/** Header names the fuzz loop adds, with random values. */
export const FUZZ_HEADERS = [
  "content-type",
  "apikey",
  "x-client-info",
  "x-request-id",
  "cookie",
  "origin",
  "x-forwarded-for",
  "accept",
  "accept-encoding",
  "stripe-signature",
  "authorization",
  "content-length",
  "x-stripe-event",
];

export { sampleEvent };
