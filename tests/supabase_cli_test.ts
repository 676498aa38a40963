/**
 * The Supabase CLI path (`supabase start` + `supabase functions serve`, which need Docker),
 * checked without Docker: the functions are configured exactly as `functions serve` of the
 * pinned CLI (3.1.0) configures them from `supabase/functions/.env.example` (every SUPABASE_*
 * name of the file skipped; SUPABASE_URL, SUPABASE_DB_URL and SUPABASE_JWKS injected), and
 * meet tokens shaped as local Supabase Auth issues them (ES256 with a kid, GoTrue's claims),
 * and the emulator as `deno task emulator` runs it.
 */
import assert from "node:assert/strict";
import {
  base64url,
  exportJWK,
  generateKeyPair,
  type JWK,
  type JWTPayload,
  SignJWT,
} from "npm:jose@6.2.18";
import { parseDotenv } from "../dev/env.ts";
import { LOCAL_STRIPE_SECRET_KEY, LOCAL_WEBHOOK_SECRET } from "../dev/local.ts";
import { CATALOG, startStripeEmulator } from "../dev/stripe/mod.ts";
import { createAuthenticator } from "../supabase/functions/_shared/auth.ts";
import { loadConfig } from "../supabase/functions/_shared/config.ts";
import { HttpError } from "../supabase/functions/_shared/http.ts";
import { createLogger } from "../supabase/functions/_shared/log.ts";
import { functionHandler } from "../supabase/functions/_shared/serve.ts";
import { createStripe } from "../supabase/functions/_shared/stripe.ts";
import { webhookFunction } from "../supabase/functions/stripe-webhook/handler.ts";
import { harnessTest } from "./_support/harness.ts";
import { requestWithHost } from "./_support/raw_http.ts";

const ENV_EXAMPLE = new URL("../supabase/functions/.env.example", import.meta.url);

/** The `iss` local Supabase Auth puts in its tokens: the API's URL and /auth/v1. */
const LOCAL_AUTH_ISSUER = "http://127.0.0.1:54321/auth/v1";
/** What the functions see as SUPABASE_URL inside the CLI's Docker network. */
const CLI_SUPABASE_URL = "http://kong:8000";
/** The issuer the functions would derive from SUPABASE_URL inside Docker: not local Auth's. */
const DERIVED_ISSUER = `${CLI_SUPABASE_URL}/auth/v1`;
/** The CLI's documented default JWT secret, which signs the legacy (HS256) tokens. */
const CLI_JWT_SECRET = "super-secret-jwt-token-with-at-least-32-characters-long";
/** Local Supabase Auth's signing key and the JWKS `functions serve` injects for it. */
async function localAuthKeys() {
  const { privateKey, publicKey } = await generateKeyPair("ES256", { extractable: true });
  const kid = crypto.randomUUID();
  const publicJwk: JWK = {
    ...(await exportJWK(publicKey)),
    kid,
    use: "sig",
    key_ops: ["verify"],
    alg: "ES256",
    ext: true,
  };
  // Without signing_keys_path the CLI injects its default ES256 key and the JWT secret.
  const jwks = {
    keys: [publicJwk, {
      kty: "oct",
      k: base64url.encode(new TextEncoder().encode(CLI_JWT_SECRET)),
    }],
  };
  return { privateKey, kid, jwks };
}

/** What `supabase functions serve` hands the functions: the file minus SUPABASE_*, plus its own. */
function functionsServeEnv(file: Map<string, string>, jwks: unknown): Map<string, string> {
  const env = new Map([...file].filter(([name]) => !name.startsWith("SUPABASE_")));
  env.set("SUPABASE_URL", CLI_SUPABASE_URL);
  env.set("SUPABASE_DB_URL", "postgresql://postgres:postgres@db:5432/postgres");
  env.set("SUPABASE_JWKS", JSON.stringify(jwks));
  env.set("SUPABASE_ANON_KEY", "anon-key-of-the-cli");
  return env;
}

async function envExample(): Promise<Map<string, string>> {
  return parseDotenv(await Deno.readTextFile(ENV_EXAMPLE));
}

/** GoTrue's access token claims for a user who signed in with a password. */
function userClaims(issuer: string, overrides: JWTPayload = {}): JWTPayload {
  const now = Math.floor(Date.now() / 1000);
  const sub = crypto.randomUUID();
  return {
    iss: issuer,
    sub,
    aud: "authenticated",
    exp: now + 3600,
    iat: now,
    email: "cli@example.com",
    phone: "",
    app_metadata: { provider: "email", providers: ["email"] },
    user_metadata: { email: "cli@example.com", email_verified: true, phone_verified: false, sub },
    role: "authenticated",
    aal: "aal1",
    amr: [{ method: "password", timestamp: now }],
    session_id: crypto.randomUUID(),
    is_anonymous: false,
    ...overrides,
  };
}

function signEs256(claims: JWTPayload, key: CryptoKey, kid: string): Promise<string> {
  return new SignJWT(claims).setProtectedHeader({ alg: "ES256", kid, typ: "JWT" }).sign(key);
}

async function verdict(authenticate: (request: Request) => Promise<unknown>, token: string) {
  try {
    await authenticate(
      new Request("http://kong:8000/", { headers: { Authorization: `Bearer ${token}` } }),
    );
    return "accepted";
  } catch (error) {
    if (error instanceof HttpError && error.status === 401) return "refused";
    throw error;
  }
}

Deno.test(".env.example configures every function under functions serve, with nothing the CLI would skip", async () => {
  const file = await envExample();
  assert.deepEqual([...file.keys()].filter((name) => name.startsWith("SUPABASE_")), []);
  const env = functionsServeEnv(file, (await localAuthKeys()).jwks);
  const config = loadConfig(
    [
      "stripeSecretKey",
      "stripePriceId",
      "stripePriceIds",
      "stripeWebhookSecret",
      "siteUrl",
      "stripeApi",
      "identity",
      "databaseUrl",
      "billingSyncSecret",
    ],
    (name) => env.get(name),
  );
  assert.deepEqual(config.stripeApi, {
    host: "host.docker.internal",
    port: 12111,
    protocol: "http",
  });
  // The emulator's defaults, which `deno task emulator` uses and prints.
  assert.equal(config.stripeSecretKey, LOCAL_STRIPE_SECRET_KEY);
  assert.equal(config.stripeWebhookSecret, LOCAL_WEBHOOK_SECRET);
  const lookupKeys: string[] = Object.values(CATALOG.lookupKeys);
  for (const price of [config.stripePriceId, ...config.stripePriceIds]) {
    assert.ok(lookupKeys.includes(price), `"${price}" is not a lookup key of the emulator`);
  }
  assert.deepEqual(config.identity.issuers, [LOCAL_AUTH_ISSUER]);
});

Deno.test("tokens shaped as local Supabase Auth issues them are accepted with the keys functions serve injects, and refused when altered", async () => {
  const { privateKey, kid, jwks } = await localAuthKeys();
  const env = functionsServeEnv(await envExample(), jwks);
  const authenticate = createAuthenticator(
    loadConfig(["identity"], (name) => env.get(name)).identity,
  );

  // Local Auth's own issuer, named by AUTH_ISSUER in .env.example: accepted.
  assert.equal(
    await verdict(authenticate, await signEs256(userClaims(LOCAL_AUTH_ISSUER), privateKey, kid)),
    "accepted",
  );
  // The issuer SUPABASE_URL would give inside Docker is not local Auth's: refused.
  assert.equal(
    await verdict(authenticate, await signEs256(userClaims(DERIVED_ISSUER), privateKey, kid)),
    "refused",
  );
  // A legacy HS256 user token, signed with the CLI's JWT secret, as the JWKS allows.
  const legacy = await new SignJWT(userClaims(LOCAL_AUTH_ISSUER))
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .sign(new TextEncoder().encode(CLI_JWT_SECRET));
  assert.equal(await verdict(authenticate, legacy), "accepted");

  const other = await generateKeyPair("ES256");
  const now = Math.floor(Date.now() / 1000);
  const altered: Record<string, string> = {
    "another key with the same kid": await signEs256(
      userClaims(LOCAL_AUTH_ISSUER),
      other.privateKey,
      kid,
    ),
    "another issuer": await signEs256(userClaims("http://127.0.0.1:9999/auth/v1"), privateKey, kid),
    "another audience": await signEs256(
      userClaims(LOCAL_AUTH_ISSUER, { aud: "anon" }),
      privateKey,
      kid,
    ),
    "the anon role": await signEs256(
      userClaims(LOCAL_AUTH_ISSUER, { role: "anon" }),
      privateKey,
      kid,
    ),
    "the service role": await signEs256(
      userClaims(LOCAL_AUTH_ISSUER, { role: "service_role" }),
      privateKey,
      kid,
    ),
    expired: await signEs256(
      userClaims(LOCAL_AUTH_ISSUER, { exp: now - 60, iat: now - 3660 }),
      privateKey,
      kid,
    ),
    "no subject": await signEs256(
      userClaims(LOCAL_AUTH_ISSUER, { sub: undefined }),
      privateKey,
      kid,
    ),
    "the anon key": await new SignJWT({ iss: "supabase-demo", role: "anon", exp: now + 3600 })
      .setProtectedHeader({ alg: "HS256", typ: "JWT" })
      .sign(new TextEncoder().encode(CLI_JWT_SECRET)),
  };
  for (const [what, token] of Object.entries(altered)) {
    assert.equal(await verdict(authenticate, token), "refused", what);
  }
  const [head = "", body = ""] = (await signEs256(userClaims(LOCAL_AUTH_ISSUER), privateKey, kid))
    .split(".");
  const tampered = JSON.parse(new TextDecoder().decode(base64url.decode(body)));
  tampered.sub = crypto.randomUUID();
  const forged = `${head}.${base64url.encode(JSON.stringify(tampered))}.${"A".repeat(86)}`;
  assert.equal(await verdict(authenticate, forged), "refused");
});

harnessTest(
  "the emulator answers the functions' Docker name for it and signs deliveries that the webhook configured from .env.example verifies",
  async (h) => {
    const file = await envExample();
    const secretKey = file.get("STRIPE_SECRET_KEY") ?? "";
    // The functions' own webhook, configured as functions serve would, except for the two
    // addresses only Docker resolves: the emulator's and the database's.
    const env = functionsServeEnv(file, (await localAuthKeys()).jwks);
    const webhook = functionHandler(webhookFunction, {
      env: (name) => env.get(name),
      logger: createLogger(() => {}),
    });
    const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, webhook);
    const emulator = await startStripeEmulator({
      secretKey,
      webhook: {
        url: `http://127.0.0.1:${server.addr.port}/functions/v1/stripe-webhook`,
        secret: file.get("STRIPE_WEBHOOK_SECRET") ?? "",
      },
    });
    env.set("STRIPE_API_URL", emulator.url);
    env.set("SUPABASE_DB_URL", h.databaseUrl);
    try {
      const docker = await requestWithHost(
        emulator.url,
        `host.docker.internal:${new URL(emulator.url).port}`,
        "GET",
        "/v1/customers",
        {
          headers: { Authorization: `Bearer ${secretKey}` },
        },
      );
      assert.equal(docker.status, 200);
      assert.equal((await docker.json()).object, "list");
      const stranger = await requestWithHost(
        emulator.url,
        "attacker.example",
        "GET",
        "/v1/customers",
        {
          headers: { Authorization: `Bearer ${secretKey}` },
        },
      );
      assert.equal(stranger.status, 403);
      await stranger.body?.cancel();

      // A paid checkout at the emulator reaches the profile through a signed delivery.
      const user = await h.createUser();
      const apiUrl = new URL(emulator.url);
      const stripe = createStripe({
        secretKey,
        api: { host: apiUrl.hostname, port: Number(apiUrl.port), protocol: "http" },
        maxNetworkRetries: 0,
      });
      const customer = await stripe.customers.create({ metadata: { userId: user.id } });
      const session = await stripe.checkout.sessions.create({
        mode: "subscription",
        line_items: [{ price: CATALOG.prices.proMonthly, quantity: 1 }],
        customer: customer.id,
        client_reference_id: user.id,
        metadata: { userId: user.id },
        subscription_data: { metadata: { userId: user.id } },
        success_url: "http://127.0.0.1:3000/dashboard",
        cancel_url: "http://127.0.0.1:3000/dashboard",
      });
      emulator.emulator.completeCheckout(session.id);
      await emulator.emulator.deliveriesSettled();
      assert.equal((await h.profile(user.id)).subscription_status, "active");
      assert.ok(emulator.emulator.deliveries().every((attempt) => attempt.status === 200));
    } finally {
      await emulator.close();
      await server.shutdown();
    }
  },
);
