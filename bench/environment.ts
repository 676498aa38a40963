/**
 * The bench's environment, built as the tests build theirs: a Supabase-shaped database (a fresh
 * one on the server named by DATABASE_URL, else embedded PGlite), the Stripe emulator with the
 * real SDK pointed at it, and a local token issuer.
 */
import { startDatabase, type StartedDatabase } from "../dev/database.ts";
import { createLocalIssuer, type LocalIssuer } from "../dev/issuer.ts";
import {
  API_VERSION,
  DEFAULT_PRICE_ID,
  type RunningStripeEmulator,
  signPayload,
  startStripeEmulator,
} from "../dev/stripe/mod.ts";
import { connect, type Sql } from "../dev/postgres.ts";
import { createStripe, type Stripe } from "../supabase/functions/_shared/stripe.ts";

export const SITE_URL = "http://app.localhost:3000";
export const SUPABASE_URL = "http://127.0.0.1:54321";
export const STRIPE_SECRET_KEY = "sk_test_bench";
export const WEBHOOK_SECRET = "whsec_bench_secret";
export const SYNC_SECRET = "bench-sync-secret-0123456789";

/** How the environment is set up. */
export interface EnvironmentOptions {
  /** Every Stripe API answer of the emulator waits this long first (Stripe's round trip). */
  stripeLatencyMs: number;
}

/** A signed-in user. */
export interface BenchUser {
  id: string;
  email: string;
  token: string;
}

/** A user holding a real subscription at the emulator. */
export interface Subscriber extends BenchUser {
  subscription: Stripe.Subscription;
}

/** Everything the bench drives. */
export interface BenchEnvironment {
  options: EnvironmentOptions;
  /** True on a PostgreSQL server (DATABASE_URL), false on embedded PGlite. */
  onServer: boolean;
  databaseKind: string;
  databaseUrl: string;
  sql: Sql;
  stripeServer: RunningStripeEmulator;
  stripe: Stripe;
  issuer: LocalIssuer;
  /** The environment a function process is started with. */
  functionEnv: Record<string, string>;
  createUsers(count: number): Promise<BenchUser[]>;
  createSubscribers(count: number): Promise<Subscriber[]>;
  /** A signed `customer.subscription.updated` event with a fresh id. */
  signedEvent(subscription: Stripe.Subscription): Promise<{ body: string; signature: string }>;
  close(): Promise<void>;
}

/** Starts the environment; `close()` stops and drops all of it. */
export async function startEnvironment(options: EnvironmentOptions): Promise<BenchEnvironment> {
  const serverUrl = Deno.env.get("DATABASE_URL") || undefined;
  const database: StartedDatabase = await startDatabase({ serverUrl });
  const closers: (() => Promise<void>)[] = [database.close];
  const closeAll = async () => {
    for (const close of closers.reverse()) await close().catch(() => {});
  };
  try {
    const stripeServer = await startStripeEmulator({
      secretKey: STRIPE_SECRET_KEY,
      latencyMs: options.stripeLatencyMs,
    });
    closers.push(stripeServer.close);
    const apiUrl = new URL(stripeServer.url);
    const stripe = createStripe({
      secretKey: STRIPE_SECRET_KEY,
      api: { host: apiUrl.hostname, port: Number(apiUrl.port), protocol: "http" },
    });
    const sql = connect(database.url);
    closers.push(() => sql.end());
    const issuer = await createLocalIssuer(SUPABASE_URL);

    const createUsers = (count: number) =>
      Promise.all(Array.from({ length: count }, async () => {
        const email = `bench-${crypto.randomUUID().slice(0, 12)}@example.com`;
        const [row] = await sql<{ id: string }[]>`
          insert into auth.users (email) values (${email}) returning id`;
        if (!row) throw new Error("auth.users insert returned no row");
        return { id: row.id, email, token: await issuer.mint({ sub: row.id, email }) };
      }));

    return {
      options,
      onServer: serverUrl !== undefined,
      databaseKind: serverUrl ? "PostgreSQL server (DATABASE_URL)" : "embedded PGlite",
      databaseUrl: database.url,
      sql,
      stripeServer,
      stripe,
      issuer,
      functionEnv: {
        STRIPE_SECRET_KEY,
        STRIPE_PRICE_ID: DEFAULT_PRICE_ID,
        STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET,
        URL: SITE_URL,
        SUPABASE_URL,
        SUPABASE_JWKS: JSON.stringify(issuer.jwks),
        SUPABASE_DB_URL: database.url,
        STRIPE_API_URL: stripeServer.url,
        BILLING_SYNC_SECRET: SYNC_SECRET,
      },
      createUsers,
      async createSubscribers(count) {
        const users = await createUsers(count);
        const subscribers: Subscriber[] = [];
        for (const user of users) {
          const customer = await stripe.customers.create({
            email: user.email,
            metadata: { userId: user.id },
          });
          const session = await stripe.checkout.sessions.create({
            mode: "subscription",
            line_items: [{ price: DEFAULT_PRICE_ID, quantity: 1 }],
            customer: customer.id,
            client_reference_id: user.id,
            metadata: { userId: user.id },
            subscription_data: { metadata: { userId: user.id } },
            success_url: `${SITE_URL}/dashboard?checkout=success`,
            cancel_url: `${SITE_URL}/dashboard?checkout=canceled`,
          });
          const subscription = stripeServer.emulator.completeCheckout(session.id);
          subscribers.push({ ...user, subscription });
        }
        return subscribers;
      },
      async signedEvent(subscription) {
        const body = JSON.stringify({
          id: `evt_bench_${crypto.randomUUID().replaceAll("-", "")}`,
          object: "event",
          api_version: API_VERSION,
          created: Math.floor(Date.now() / 1000),
          livemode: false,
          pending_webhooks: 1,
          request: { id: null, idempotency_key: null },
          type: "customer.subscription.updated",
          data: { object: subscription, previous_attributes: {} },
        });
        return { body, signature: await signPayload(body, WEBHOOK_SECRET) };
      },
      close: closeAll,
    };
  } catch (error) {
    await closeAll();
    throw error;
  }
}
