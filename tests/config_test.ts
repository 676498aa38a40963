import assert from "node:assert/strict";
import { ConfigError, loadConfig } from "../supabase/functions/_shared/config.ts";

const VALID: Record<string, string> = {
  STRIPE_SECRET_KEY: "sk_test_123",
  STRIPE_PRICE_ID: "price_123",
  STRIPE_WEBHOOK_SECRET: "whsec_abc",
  URL: "https://app.example.com/",
  SUPABASE_URL: "https://abc.supabase.co",
  SUPABASE_DB_URL: "postgresql://postgres:pw@db.example.com:5432/postgres",
};

function envOf(values: Record<string, string | undefined>) {
  return (name: string) => values[name];
}

function assertConfigError(fn: () => unknown, variable: string): void {
  assert.throws(fn, (error) => {
    assert.ok(error instanceof ConfigError);
    assert.match(error.message, new RegExp(`"${variable}"`));
    return true;
  });
}

Deno.test("loadConfig returns typed camelCase values", () => {
  const config = loadConfig(
    [
      "stripeSecretKey",
      "stripePriceId",
      "stripeWebhookSecret",
      "siteUrl",
      "stripeApi",
      "databaseUrl",
    ],
    envOf(VALID),
  );
  assert.deepEqual(config, {
    stripeSecretKey: "sk_test_123",
    stripePriceId: "price_123",
    stripeWebhookSecret: "whsec_abc",
    siteUrl: "https://app.example.com",
    stripeApi: undefined,
    databaseUrl: VALID.SUPABASE_DB_URL,
  });
});

Deno.test("loadConfig reads only the variables it is asked for", () => {
  assert.deepEqual(loadConfig(["stripePriceId"], envOf({ STRIPE_PRICE_ID: "price_1" })), {
    stripePriceId: "price_1",
  });
});

Deno.test("loadConfig names each missing variable", () => {
  const cases = [
    ["stripeSecretKey", "STRIPE_SECRET_KEY"],
    ["stripePriceId", "STRIPE_PRICE_ID"],
    ["stripeWebhookSecret", "STRIPE_WEBHOOK_SECRET"],
    ["siteUrl", "URL"],
    ["databaseUrl", "SUPABASE_DB_URL"],
    ["identity", "SUPABASE_URL"],
  ] as const;
  for (const [key, variable] of cases) {
    assertConfigError(() => loadConfig([key], envOf({})), variable);
    assertConfigError(() => loadConfig([key], envOf({ [variable]: "  " })), variable);
  }
});

Deno.test("loadConfig names each malformed variable", () => {
  const cases = [
    ["stripeSecretKey", "STRIPE_SECRET_KEY", "pk_test_123"],
    ["stripePriceId", "STRIPE_PRICE_ID", "prod_123"],
    ["stripeWebhookSecret", "STRIPE_WEBHOOK_SECRET", "secret"],
    ["siteUrl", "URL", "app.example.com"],
    ["siteUrl", "URL", "ftp://app.example.com"],
    ["databaseUrl", "SUPABASE_DB_URL", "mysql://localhost/db"],
    ["stripeApi", "STRIPE_API_URL", "localhost:12111"],
    ["stripeApi", "STRIPE_API_URL", "http://127.0.0.1:12111/v1"],
    ["identity", "SUPABASE_JWKS", "{not json"],
    ["identity", "SUPABASE_JWKS", '{"keys": []}'],
    ["identity", "SUPABASE_URL", "not a url"],
  ] as const;
  for (const [key, variable, value] of cases) {
    assertConfigError(() => loadConfig([key], envOf({ [variable]: value })), variable);
  }
});

Deno.test("the plan variables read as typed values, with their defaults when unset", () => {
  const keys = [
    "stripePriceId",
    "stripePriceIds",
    "trialDays",
    "trialRequireCard",
    "allowPromotionCodes",
    "automaticTax",
  ] as const;
  assert.deepEqual(loadConfig(keys, envOf({ STRIPE_PRICE_ID: "pro_monthly" })), {
    stripePriceId: "pro_monthly",
    stripePriceIds: [],
    trialDays: null,
    trialRequireCard: true,
    allowPromotionCodes: false,
    automaticTax: false,
  });
  assert.deepEqual(
    loadConfig(
      keys,
      envOf({
        STRIPE_PRICE_ID: "price_1Abc",
        STRIPE_PRICE_IDS: " price_2Def, basic_yearly ,pro.monthly:v2,price_2Def,",
        STRIPE_TRIAL_DAYS: "14",
        STRIPE_TRIAL_REQUIRE_CARD: "false",
        STRIPE_ALLOW_PROMOTION_CODES: "true",
        STRIPE_AUTOMATIC_TAX: "true",
      }),
    ),
    {
      stripePriceId: "price_1Abc",
      stripePriceIds: ["price_2Def", "basic_yearly", "pro.monthly:v2"],
      trialDays: 14,
      trialRequireCard: false,
      allowPromotionCodes: true,
      automaticTax: true,
    },
  );
  assert.equal(loadConfig(["trialDays"], envOf({ STRIPE_TRIAL_DAYS: "730" })).trialDays, 730);
  assert.equal(loadConfig(["trialDays"], envOf({ STRIPE_TRIAL_DAYS: "1" })).trialDays, 1);
});

Deno.test("each malformed plan variable is named", () => {
  const cases = [
    ["stripePriceIds", "STRIPE_PRICE_IDS", "price_1,prod_2"],
    ["stripePriceIds", "STRIPE_PRICE_IDS", "price_1,has space"],
    ["stripePriceIds", "STRIPE_PRICE_IDS", `price_1,${"k".repeat(201)}`],
    ["trialDays", "STRIPE_TRIAL_DAYS", "0"],
    ["trialDays", "STRIPE_TRIAL_DAYS", "731"],
    ["trialDays", "STRIPE_TRIAL_DAYS", "abc"],
    ["trialDays", "STRIPE_TRIAL_DAYS", "7.5"],
    ["trialDays", "STRIPE_TRIAL_DAYS", "-3"],
    ["trialDays", "STRIPE_TRIAL_DAYS", "1e2"],
    ["trialRequireCard", "STRIPE_TRIAL_REQUIRE_CARD", "no"],
    ["allowPromotionCodes", "STRIPE_ALLOW_PROMOTION_CODES", "yes"],
    ["automaticTax", "STRIPE_AUTOMATIC_TAX", "TRUE"],
    ["automaticTax", "STRIPE_AUTOMATIC_TAX", "1"],
  ] as const;
  for (const [key, variable, value] of cases) {
    assertConfigError(() => loadConfig([key], envOf({ [variable]: value })), variable);
  }
});

Deno.test("STRIPE_API_URL becomes the SDK's host, port and protocol", () => {
  const read = (value: string) =>
    loadConfig(["stripeApi"], envOf({ STRIPE_API_URL: value })).stripeApi;
  assert.deepEqual(read("http://127.0.0.1:12111"), {
    host: "127.0.0.1",
    port: 12111,
    protocol: "http",
  });
  assert.deepEqual(read("https://stripe.internal/"), {
    host: "stripe.internal",
    port: 443,
    protocol: "https",
  });
  assert.deepEqual(read("http://[::1]:8080"), { host: "::1", port: 8080, protocol: "http" });
});

Deno.test("identity takes the inline JWKS and derives the issuer from SUPABASE_URL", () => {
  const jwks = { keys: [{ kty: "EC", crv: "P-256", x: "x", y: "y", kid: "k1" }] };
  const { identity } = loadConfig(
    ["identity"],
    envOf({ SUPABASE_JWKS: JSON.stringify(jwks), SUPABASE_URL: "https://abc.supabase.co/" }),
  );
  assert.deepEqual(identity, {
    jwks,
    supabaseUrl: "https://abc.supabase.co",
    issuers: ["https://abc.supabase.co/auth/v1"],
  });
  const bare = loadConfig(["identity"], envOf({ SUPABASE_JWKS: JSON.stringify(jwks.keys) }));
  assert.deepEqual(bare.identity, { jwks, supabaseUrl: undefined, issuers: [] });
  const custom = loadConfig(
    ["identity"],
    envOf({
      SUPABASE_URL: "http://kong:8000",
      AUTH_ISSUER: "http://127.0.0.1:54321/auth/v1",
    }),
  );
  assert.deepEqual(custom.identity.issuers, ["http://127.0.0.1:54321/auth/v1"]);
});
