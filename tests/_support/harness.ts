/**
 * The test environment: a Supabase-shaped database (embedded PGlite, or a fresh database on the
 * server named by DATABASE_URL), the local Stripe emulator with the real SDK pointed at it, a
 * local token issuer, and the three handlers built on them exactly as the functions build them.
 * One environment serves the tests of one file and closes after them.
 */
import { databaseSchema, startDatabase, type StartedDatabase } from "../../dev/database.ts";
import { createLocalIssuer, type LocalIssuer, type MintOptions } from "../../dev/issuer.ts";
import {
  DEFAULT_PRICE_ID,
  signPayload,
  startStripeEmulator,
  type StripeEmulator,
} from "../../dev/stripe/mod.ts";
import { type Authenticate, createAuthenticator } from "../../supabase/functions/_shared/auth.ts";
import type { JsonWebKeySet } from "../../supabase/functions/_shared/config.ts";
import { connect, type Sql } from "../../dev/postgres.ts";
import { connectDatabase, type Database } from "../../supabase/functions/_shared/db.ts";
import type { Handler } from "../../supabase/functions/_shared/http.ts";
import { createLogger, type Logger } from "../../supabase/functions/_shared/log.ts";
import { createStripe, type Stripe } from "../../supabase/functions/_shared/stripe.ts";
import { handlerWith } from "../../supabase/functions/_shared/serve.ts";
import { planSettings } from "../../supabase/functions/_shared/plans.ts";
import { checkoutFunction } from "../../supabase/functions/stripe-checkout/handler.ts";
import { portalFunction } from "../../supabase/functions/stripe-portal/handler.ts";
import { webhookFunction } from "../../supabase/functions/stripe-webhook/handler.ts";
import {
  syncFunction,
  type SyncFunctionDeps,
} from "../../supabase/functions/stripe-sync/handler.ts";

export const SITE_URL = "http://app.localhost:3000";
export const SUPABASE_URL = "http://127.0.0.1:54321";
export const STRIPE_SECRET_KEY = "sk_test_harness";
export const WEBHOOK_SECRET = "whsec_harness_secret";
export const SYNC_SECRET = "sync-secret-of-the-tests";
/** Where the tests send a signed-in user's requests (handlers do not route by path). */
export const FUNCTION_URL = "http://127.0.0.1/functions/v1/test";
/** Where the tests send webhook deliveries. */
export const WEBHOOK_URL = "http://127.0.0.1/functions/v1/stripe-webhook";

/** A signed-in user of the tests. */
export interface TestUser {
  id: string;
  email: string;
  token: string;
}

/** A profile row as tests read it. */
export interface ProfileRow {
  id: string;
  email: string | null;
  stripe_customer_id: string | null;
  stripe_subscription_id: string | null;
  subscription_status: string | null;
  price_id: string | null;
  current_period_end: Date | null;
  cancel_at_period_end: boolean;
  cancel_at: Date | null;
  canceled_at: Date | null;
  trial_end: Date | null;
  subscription_created_at: Date | null;
  entitlements: string[];
  updated_at: Date;
}

/** How a delivery is signed: the tests' secret and the current time unless given. */
export interface SignOptions {
  secret?: string;
  timestamp?: number;
}

/** Everything a test drives. */
export interface Harness {
  sql: Sql;
  /** The pool the handlers use (`connectDatabase`, as the functions build it). */
  database: Database;
  databaseUrl: string;
  emulator: StripeEmulator;
  stripeApiUrl: string;
  stripe: Stripe;
  issuer: LocalIssuer;
  /** Every log line the handlers wrote; read the lines after a mark (`logs.length`). */
  logs: string[];
  logger: Logger;
  checkout: Handler;
  portal: Handler;
  webhook: Handler;
  sync: Handler;
  createUser(email?: string): Promise<TestUser>;
  token(userId: string, claims?: Record<string, unknown>, options?: MintOptions): Promise<string>;
  /** Sends a request to a handler, POST unless `init` says otherwise, with the token when given. */
  post(handler: Handler, token?: string, init?: RequestInit): Promise<Response>;
  /** Signs a payload as Stripe does and POSTs it to the webhook. */
  deliver(payload: string | object, options?: SignOptions): Promise<Response>;
  profile(userId: string): Promise<ProfileRow>;
  close(): Promise<void>;
}

/** The clients the functions run on, as the tests build them. */
export interface FunctionClients {
  authenticate: Authenticate;
  stripe: Stripe;
  db: Database;
  logger: Logger;
}

/** The functions' handlers, built on `clients` exactly as each function builds its own. */
export interface FunctionHandlers {
  checkout: Handler;
  portal: Handler;
  webhook: Handler;
  sync: Handler;
}

/** Settings of {@link buildHandlers}; the tests' own by default. */
export interface HandlerSettings {
  /** `STRIPE_PRICE_ID`: the emulator's default price unless given. */
  priceId?: string;
  /** `STRIPE_PRICE_IDS`: none unless given. */
  prices?: string[];
  /** `STRIPE_TRIAL_DAYS`: no trial unless given. */
  trialDays?: number | null;
  /** `STRIPE_TRIAL_REQUIRE_CARD`: true unless given. */
  trialRequireCard?: boolean;
  /** `STRIPE_ALLOW_PROMOTION_CODES` and `STRIPE_AUTOMATIC_TAX`: false unless given. */
  allowPromotionCodes?: boolean;
  automaticTax?: boolean;
  siteUrl?: string;
  webhookSecret?: string;
  syncSecret?: string;
  /** The sync's bounds per call (pages, page size, time). */
  syncLimits?: SyncFunctionDeps["limits"];
}

/** Builds every function's handler on the given clients, as each function builds its own. */
export function buildHandlers(
  clients: FunctionClients,
  settings: HandlerSettings = {},
): FunctionHandlers {
  const { authenticate, stripe, db, logger } = clients;
  const siteUrl = settings.siteUrl ?? SITE_URL;
  const plans = planSettings({
    stripePriceId: settings.priceId ?? DEFAULT_PRICE_ID,
    stripePriceIds: settings.prices ?? [],
    trialDays: settings.trialDays ?? null,
  });
  return {
    checkout: handlerWith(checkoutFunction, {
      authenticate,
      stripe,
      db,
      plans,
      trialRequireCard: settings.trialRequireCard ?? true,
      allowPromotionCodes: settings.allowPromotionCodes ?? false,
      automaticTax: settings.automaticTax ?? false,
      siteUrl,
      logger,
    }),
    portal: handlerWith(portalFunction, { authenticate, stripe, db, siteUrl, logger }),
    webhook: handlerWith(webhookFunction, {
      stripe,
      db,
      webhookSecret: settings.webhookSecret ?? WEBHOOK_SECRET,
      plans,
      logger,
    }),
    sync: handlerWith(syncFunction, {
      stripe,
      db,
      syncSecret: settings.syncSecret ?? SYNC_SECRET,
      plans,
      logger,
      ...(settings.syncLimits && { limits: settings.syncLimits }),
    }),
  };
}

/** Every handler again on the harness's own clients, with other settings (plans, flags). */
export function handlersWith(h: Harness, settings: HandlerSettings): FunctionHandlers {
  return buildHandlers(
    {
      authenticate: testAuthenticator(h.issuer.jwks, h.issuer),
      stripe: h.stripe,
      db: h.database,
      logger: h.logger,
    },
    settings,
  );
}

/** A token verifier that trusts `jwks` for tokens of the local issuer, as the functions do. */
export function testAuthenticator(jwks: JsonWebKeySet, issuer: LocalIssuer): Authenticate {
  return createAuthenticator({ jwks, supabaseUrl: SUPABASE_URL, issuers: [issuer.issuer] });
}

/** A request to a function, POST unless `init` says otherwise, with `token` as its bearer. */
export function userRequest(token: string | undefined, init: RequestInit = {}): Request {
  const headers = new Headers(init.headers);
  if (token !== undefined) headers.set("Authorization", `Bearer ${token}`);
  return new Request(FUNCTION_URL, { method: "POST", ...init, headers });
}

/** The headers of a webhook delivery of `body`, signed as Stripe signs it. */
export async function deliveryHeaders(
  body: string,
  options: SignOptions = {},
): Promise<Record<string, string>> {
  const signature = await signPayload(body, options.secret ?? WEBHOOK_SECRET, options.timestamp);
  return { "Content-Type": "application/json", "Stripe-Signature": signature };
}

/** A webhook delivery of `payload` (JSON-encoded unless a string), signed as Stripe signs it. */
export async function signedDelivery(
  payload: string | object,
  options: SignOptions = {},
): Promise<Request> {
  const body = typeof payload === "string" ? payload : JSON.stringify(payload);
  const headers = await deliveryHeaders(body, options);
  return new Request(WEBHOOK_URL, { method: "POST", headers, body });
}

/** A Stripe client on the emulator at `apiUrl`, with the given retries and timeout. */
export function emulatorClient(
  apiUrl: string,
  maxNetworkRetries: number,
  timeoutMs: number,
): Stripe {
  const api = new URL(apiUrl);
  return createStripe({
    secretKey: STRIPE_SECRET_KEY,
    api: { host: api.hostname, port: Number(api.port), protocol: "http" },
    maxNetworkRetries,
    timeoutMs,
  });
}

/** Starts a fresh environment. Tests use {@link harnessTest}, which shares one per test file. */
/** Starts a fresh environment of its own (the sync's tests: a pass sees the whole account). */
export async function startHarness(): Promise<Harness> {
  const database: StartedDatabase = await startDatabase({
    serverUrl: Deno.env.get("DATABASE_URL") || undefined,
    schema: databaseSchema(Deno.env.get("DATABASE_SCHEMA")),
  });
  const stripeServer = await startStripeEmulator({ secretKey: STRIPE_SECRET_KEY });
  const stripe = emulatorClient(stripeServer.url, 0, 5000);
  const sql = connect(database.url);
  const issuer = await createLocalIssuer(SUPABASE_URL);
  const logs: string[] = [];
  const logger = createLogger((line) => logs.push(line));
  const handlerDb = connectDatabase(database.url);
  const handlers = buildHandlers({
    authenticate: testAuthenticator(issuer.jwks, issuer),
    stripe,
    db: handlerDb,
    logger,
  });

  const harness: Harness = {
    sql,
    database: handlerDb,
    databaseUrl: database.url,
    emulator: stripeServer.emulator,
    stripeApiUrl: stripeServer.url,
    stripe,
    issuer,
    logs,
    logger,
    ...handlers,
    async createUser(email) {
      const address = email ?? `user-${crypto.randomUUID().slice(0, 8)}@example.com`;
      const [row] = await sql<{ id: string }[]>`
        insert into auth.users (email) values (${address}) returning id`;
      if (!row) throw new Error("auth.users insert returned no row");
      return { id: row.id, email: address, token: await harness.token(row.id, { email: address }) };
    },
    token(userId, claims = {}, options) {
      return issuer.mint({ sub: userId, ...claims }, options);
    },
    post(handler, token, init = {}) {
      return handler(userRequest(token, init));
    },
    async deliver(payload, options = {}) {
      return harness.webhook(await signedDelivery(payload, options));
    },
    async profile(userId) {
      const [row] = await sql<ProfileRow[]>`select * from public.profiles where id = ${userId}`;
      if (!row) throw new Error(`No profile for "${userId}"`);
      return row;
    },
    async close() {
      await handlerDb.end();
      await sql.end();
      await stripeServer.close();
      await database.close();
    },
  };
  return harness;
}

/**
 * The environment of this test file. Deno runs each test file in its own isolate, so this module
 * (and this variable) is one per file; starting a database per test would be slow. Every test
 * makes its own users and data, so none depends on another's leftovers, in any order.
 */
let shared: Promise<Harness> | undefined;
let teardownRegistered = false;

function harness(): Promise<Harness> {
  shared ??= startHarness();
  return shared;
}

/** Closes the file's environment after its last test: a hook, so that it is no test itself. */
function registerTeardown(): void {
  if (teardownRegistered) return;
  teardownRegistered = true;
  Deno.test.afterAll(async () => {
    const started = shared;
    shared = undefined;
    // An environment that failed to start has failed its tests already; there is nothing to close.
    const running = await started?.catch(() => undefined);
    await running?.close();
  });
}

/** A test of the shared environment: its name, and whether it is ignored on this run. */
export interface HarnessTestOptions {
  name: string;
  ignore?: boolean;
}

/**
 * Declares a test that runs in the file's shared environment, started by the first test that
 * needs it and closed after the file's last test. The environment outlives each test, so Deno's
 * per-test resource sanitizers are off.
 */
export function harnessTest(
  test: string | HarnessTestOptions,
  fn: (h: Harness) => Promise<void>,
): void {
  const { name, ignore = false } = typeof test === "string" ? { name: test } : test;
  registerTeardown();
  Deno.test({
    name,
    ignore,
    sanitizeOps: false,
    sanitizeResources: false,
    fn: async () => fn(await harness()),
  });
}
