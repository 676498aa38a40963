/** Configuration: the one place that reads and validates the environment. */
import { parseDatabaseUrl } from "./pg/mod.ts";

/** Where a Stripe-compatible API lives, in the shape the Stripe SDK takes. */
export interface StripeApiLocation {
  host: string;
  port: number;
  protocol: "http" | "https";
}

/** Everything any function may need, validated and typed. */
export interface Config {
  stripeSecretKey: string;
  stripePriceId: string;
  stripeWebhookSecret: string;
  siteUrl: string;
  stripeApi: StripeApiLocation | undefined;
  identity: IdentityConfig;
  databaseUrl: string;
  billingSyncSecret: string;
  /** More prices a checkout may ask for (ids or lookup keys), beside `stripePriceId`. */
  stripePriceIds: string[];
  /** Trial days of a user's first subscription, or null for none. */
  trialDays: number | null;
  /** False: a trial needs no card, and ends canceled without one. */
  trialRequireCard: boolean;
  allowPromotionCodes: boolean;
  automaticTax: boolean;
}

/** How user tokens are verified: inline JWKS, or fetched from the project URL. */
export interface IdentityConfig {
  jwks: JsonWebKeySet | undefined;
  supabaseUrl: string | undefined;
  issuers: string[];
}

/** One JSON Web Key. */
export interface Jwk {
  kty: string;
  kid?: string;
  alg?: string;
  k?: string;
  [member: string]: unknown;
}

/** A JSON Web Key Set as Supabase publishes it. */
export interface JsonWebKeySet {
  keys: Jwk[];
}

export type ConfigKey = keyof Config;

/** Reads one environment variable; `undefined` when unset. */
export type EnvReader = (name: string) => string | undefined;

/** A missing or malformed environment variable. */
export class ConfigError extends Error {
  override name = "ConfigError";
}

/** Reads `Deno.env`. */
export function readDenoEnv(name: string): string | undefined {
  return Deno.env.get(name);
}

function required(env: EnvReader, name: string): string {
  const value = env(name)?.trim();
  if (!value) throw new ConfigError(`Missing environment variable "${name}"`);
  return value;
}

function optional(env: EnvReader, name: string): string | undefined {
  const value = env(name)?.trim();
  return value ? value : undefined;
}

function parseHttpUrl(name: string, value: string): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError(`Malformed environment variable "${name}": not a URL`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new ConfigError(`Malformed environment variable "${name}": not an http(s) URL`);
  }
  return url;
}

function withoutTrailingSlash(url: URL): string {
  return url.href.replace(/\/+$/, "");
}

function readStripeSecretKey(env: EnvReader): string {
  const key = required(env, "STRIPE_SECRET_KEY");
  if (!/^(sk|rk)_(test|live)_\S+$/.test(key)) {
    throw new ConfigError(
      `Malformed environment variable "STRIPE_SECRET_KEY": expected an sk_ or rk_ key`,
    );
  }
  return key;
}

const PRICE_ID = /^price_[A-Za-z0-9]+$/;
/** Stripe's lookup keys: up to 200 characters; these are the ones a URL or a list can carry. */
const LOOKUP_KEY = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,199}$/;
/** Ids of Stripe objects that are not prices, which a price variable must not hold. */
const OTHER_OBJECT = /^(prod|plan|sub|cus|si|in|ii|pi|cs|evt|coupon|promo|pm|seti)_/;

/** True when `value` is a price id or could be a price's lookup key. */
export function isPriceReference(value: string): boolean {
  return PRICE_ID.test(value) || (LOOKUP_KEY.test(value) && !OTHER_OBJECT.test(value));
}

function readPriceReference(name: string, value: string): string {
  if (!isPriceReference(value)) {
    throw new ConfigError(
      `Malformed environment variable "${name}": expected a price id (price_...) or a price's lookup key`,
    );
  }
  return value;
}

function readPriceId(env: EnvReader): string {
  return readPriceReference("STRIPE_PRICE_ID", required(env, "STRIPE_PRICE_ID"));
}

function readPriceIds(env: EnvReader): string[] {
  const value = optional(env, "STRIPE_PRICE_IDS");
  if (value === undefined) return [];
  const entries = value.split(",").map((entry) => entry.trim()).filter((entry) => entry !== "");
  return [...new Set(entries.map((entry) => readPriceReference("STRIPE_PRICE_IDS", entry)))];
}

function readTrialDays(env: EnvReader): number | null {
  const value = optional(env, "STRIPE_TRIAL_DAYS");
  if (value === undefined) return null;
  const days = /^\d{1,3}$/.test(value) ? Number(value) : NaN;
  if (!(days >= 1 && days <= 730)) {
    throw new ConfigError(
      `Malformed environment variable "STRIPE_TRIAL_DAYS": expected a whole number of days from 1 to 730`,
    );
  }
  return days;
}

/** A `true`/`false` switch; `fallback` when unset. */
function readFlag(env: EnvReader, name: string, fallback: boolean): boolean {
  const value = optional(env, name);
  if (value === undefined) return fallback;
  if (value === "true") return true;
  if (value === "false") return false;
  throw new ConfigError(`Malformed environment variable "${name}": expected true or false`);
}

function readWebhookSecret(env: EnvReader): string {
  const secret = required(env, "STRIPE_WEBHOOK_SECRET");
  if (!/^whsec_\S+$/.test(secret)) {
    throw new ConfigError(
      `Malformed environment variable "STRIPE_WEBHOOK_SECRET": expected whsec_...`,
    );
  }
  return secret;
}

function readStripeApi(env: EnvReader): StripeApiLocation | undefined {
  const value = optional(env, "STRIPE_API_URL");
  if (value === undefined) return undefined;
  const url = parseHttpUrl("STRIPE_API_URL", value);
  if (url.pathname !== "/" || url.search) {
    throw new ConfigError(
      `Malformed environment variable "STRIPE_API_URL": the SDK takes a host and port, not a path`,
    );
  }
  const protocol = url.protocol === "https:" ? "https" : "http";
  const port = url.port ? Number(url.port) : protocol === "https" ? 443 : 80;
  return { host: url.hostname.replace(/^\[|\]$/g, ""), port, protocol };
}

function isJwk(value: unknown): value is Jwk {
  return typeof value === "object" && value !== null && "kty" in value &&
    typeof value.kty === "string";
}

function parseJwks(value: string): JsonWebKeySet {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    throw new ConfigError(`Malformed environment variable "SUPABASE_JWKS": not JSON`);
  }
  const keys = Array.isArray(parsed)
    ? parsed
    : typeof parsed === "object" && parsed !== null && "keys" in parsed
    ? parsed.keys
    : undefined;
  if (!Array.isArray(keys) || keys.length === 0 || !keys.every(isJwk)) {
    throw new ConfigError(
      `Malformed environment variable "SUPABASE_JWKS": expected {"keys": [...]} with at least one key`,
    );
  }
  return { keys };
}

function readIdentity(env: EnvReader): IdentityConfig {
  const jwksText = optional(env, "SUPABASE_JWKS");
  const urlText = optional(env, "SUPABASE_URL");
  if (jwksText === undefined && urlText === undefined) {
    throw new ConfigError(`Missing environment variable "SUPABASE_URL" (or "SUPABASE_JWKS")`);
  }
  const supabaseUrl = urlText === undefined
    ? undefined
    : withoutTrailingSlash(parseHttpUrl("SUPABASE_URL", urlText));
  // Not SUPABASE_*: Supabase keeps that prefix for what it injects (`supabase secrets set` and
  // `supabase functions serve --env-file` refuse or skip such names).
  const issuerText = optional(env, "AUTH_ISSUER");
  const issuers = issuerText !== undefined
    ? issuerText.split(",").map((issuer) => issuer.trim()).filter(Boolean)
    : supabaseUrl !== undefined
    ? [`${supabaseUrl}/auth/v1`]
    : [];
  return {
    jwks: jwksText === undefined ? undefined : parseJwks(jwksText),
    supabaseUrl,
    issuers,
  };
}

/** The connection string, checked by the same parser the pool uses (its errors name no password). */
function readDatabaseUrl(env: EnvReader): string {
  const value = required(env, "SUPABASE_DB_URL");
  try {
    parseDatabaseUrl(value);
  } catch (error) {
    const reason = error instanceof TypeError ? error.message : "not a database URL";
    throw new ConfigError(`Malformed environment variable "SUPABASE_DB_URL": ${reason}`);
  }
  return value;
}

/** The bearer secret of `stripe-sync`: long enough not to be guessed, one token of text. */
function readSyncSecret(env: EnvReader): string {
  const secret = required(env, "BILLING_SYNC_SECRET");
  if (secret.length < 16 || /\s/.test(secret)) {
    throw new ConfigError(
      `Malformed environment variable "BILLING_SYNC_SECRET": expected 16 or more characters without spaces`,
    );
  }
  return secret;
}

const READERS: { [K in ConfigKey]: (env: EnvReader) => Config[K] } = {
  stripeSecretKey: readStripeSecretKey,
  stripePriceId: readPriceId,
  stripeWebhookSecret: readWebhookSecret,
  siteUrl: (env) => withoutTrailingSlash(parseHttpUrl("URL", required(env, "URL"))),
  stripeApi: readStripeApi,
  identity: readIdentity,
  databaseUrl: readDatabaseUrl,
  billingSyncSecret: readSyncSecret,
  stripePriceIds: readPriceIds,
  trialDays: readTrialDays,
  trialRequireCard: (env) => readFlag(env, "STRIPE_TRIAL_REQUIRE_CARD", true),
  allowPromotionCodes: (env) => readFlag(env, "STRIPE_ALLOW_PROMOTION_CODES", false),
  automaticTax: (env) => readFlag(env, "STRIPE_AUTOMATIC_TAX", false),
};

/**
 * Reads and validates the variables behind `keys`. Throws a {@link ConfigError} naming the
 * first missing or malformed variable.
 */
export function loadConfig<K extends ConfigKey>(
  keys: readonly K[],
  env: EnvReader = readDenoEnv,
): Pick<Config, K> {
  const config: Partial<Config> = {};
  for (const key of keys) {
    (config as Record<K, Config[K]>)[key] = READERS[key](env);
  }
  return config as Pick<Config, K>;
}
