/**
 * `deno task dev`: the functions on http://127.0.0.1:54321, at Supabase's paths and at
 * /api/stripe/*, with a local stand-in for whatever is not configured: an embedded Postgres, the
 * Stripe emulator, and Supabase Auth and REST (with the demo app at `/`). Flags: --reset wipes
 * the local data folder first.
 */
import { connect } from "./postgres.ts";
import { createLogger } from "../supabase/functions/_shared/log.ts";
import { functionHandler } from "../supabase/functions/_shared/serve.ts";
import { checkoutFunction } from "../supabase/functions/stripe-checkout/handler.ts";
import { portalFunction } from "../supabase/functions/stripe-portal/handler.ts";
import { webhookFunction } from "../supabase/functions/stripe-webhook/handler.ts";
import { syncFunction } from "../supabase/functions/stripe-sync/handler.ts";
import { startDatabase } from "./database.ts";
import { readDevEnv } from "./env.ts";
import {
  LOCAL_PORTS,
  LOCAL_PUBLISHABLE_KEY,
  LOCAL_STRIPE_SECRET_KEY,
  LOCAL_SYNC_INTERVAL_SECONDS,
  LOCAL_SYNC_SECRET,
  LOCAL_WEBHOOK_SECRET,
  useLocalPlans,
} from "./local.ts";
import { portIsFree } from "./ports.ts";
import { isIdleLoopLine, startSyncLoop } from "./sync_loop.ts";
import { createLocalIssuer } from "./issuer.ts";
import { createDevHandler, type LocalPlatform } from "./server.ts";
import { startStripeEmulator } from "./stripe/mod.ts";

const DATA_DIR = (Deno.env.get("DEV_DATA_DIR") || new URL("../.data", import.meta.url).pathname)
  .replace(/\/*$/, "/");

/** Ends the process with one line a person can act on. */
function fail(message: string): never {
  console.error(`error: ${message}`);
  Deno.exit(1);
}

function parsePort(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined || value === "") return fallback;
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    fail(`${name} must be a port number, got "${value}"`);
  }
  return port;
}

function describeStartError(what: string, port: number, error: unknown): never {
  if (error instanceof Deno.errors.AddrInUse) {
    fail(
      `port ${port} is taken, so the ${what} cannot start (set another port, or stop what uses it)`,
    );
  }
  fail(`the ${what} could not start: ${error instanceof Error ? error.message : String(error)}`);
}

function parseSeconds(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined || value === "") return fallback;
  const seconds = Number(value);
  if (!Number.isInteger(seconds) || seconds < 0) {
    fail(`${name} must be a whole number of seconds (0 turns it off), got "${value}"`);
  }
  return seconds;
}

function describeSync(interval: number, secret: string | undefined): string {
  if (interval === 0) return "off (SYNC_INTERVAL_SECONDS=0)";
  if (secret === undefined) return "off: set BILLING_SYNC_SECRET to run a pass every minute";
  const shown = secret === LOCAL_SYNC_SECRET ? ` (Authorization: Bearer ${secret})` : "";
  return `a pass every ${interval} s, logged when it replays, repairs or fails${shown}`;
}

async function main() {
  if (Deno.args.includes("--help")) {
    console.log(
      "Usage: deno task dev [--reset]\n  --reset  wipe the local database, keys and Stripe state",
    );
    return;
  }
  const env = await readDevEnv();
  const get = (name: string) => env.get(name) || undefined;

  const port = parsePort("PORT", get("PORT"), LOCAL_PORTS.app);
  if (Deno.args.includes("--reset")) {
    // A running server keeps its files open: wiping them under it would corrupt its database.
    if (!portIsFree(port)) {
      console.error(`error: port ${port} is in use (deno task dev running?); stop it, then reset`);
      Deno.exit(1);
    }
    await Deno.remove(DATA_DIR, { recursive: true }).catch((error) => {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    });
    console.log(`Reset: removed ${DATA_DIR}`);
  }
  await Deno.mkdir(DATA_DIR, { recursive: true });

  const baseUrl = `http://127.0.0.1:${port}`;
  const defaults: string[] = [];
  const cleanups: (() => Promise<void>)[] = [];

  // Database: the configured one as is, else embedded Postgres with the migrations applied.
  let databaseUrl = get("SUPABASE_DB_URL");
  if (databaseUrl === undefined) {
    const dbPort = parsePort("DB_PORT", get("DB_PORT"), LOCAL_PORTS.db);
    const dataDir = `${DATA_DIR}db`;
    const database = await startDatabase({ dataDir, port: dbPort }).catch(
      (error) => describeStartError("embedded database", dbPort, error),
    );
    cleanups.push(database.close);
    databaseUrl = database.url;
    env.set("SUPABASE_DB_URL", databaseUrl);
    defaults.push(`database   embedded Postgres (PGlite) in ${dataDir}, at ${databaseUrl}`);
  } else {
    defaults.push(
      'database   SUPABASE_DB_URL (migrations are yours to apply: supabase db push --remote="$SUPABASE_DB_URL")',
    );
  }

  // Identity: the project's keys, else local stand-ins for Supabase Auth and its REST API (a
  // local issuer with a key kept in .data), which the demo app uses.
  let platform: LocalPlatform | undefined;
  if (get("SUPABASE_JWKS") === undefined && get("SUPABASE_URL") === undefined) {
    const issuer = await createLocalIssuer(baseUrl, { keyFile: `${DATA_DIR}issuer-key.json` });
    env.set("SUPABASE_URL", baseUrl);
    env.set("SUPABASE_JWKS", JSON.stringify(issuer.jwks));
    const sql = connect(databaseUrl, { max: 4 });
    cleanups.push(() => sql.end());
    platform = {
      issuer,
      sql,
      publishableKey: LOCAL_PUBLISHABLE_KEY,
      origin: baseUrl,
      log: (line) => console.log(line),
    };
    defaults.push(
      `identity   local Auth (email codes) and REST for the demo; keys at ${baseUrl}/auth/v1/.well-known/jwks.json`,
    );
  } else {
    defaults.push("identity   SUPABASE_JWKS / SUPABASE_URL");
  }

  // Stripe: the real API (or STRIPE_API_URL) with a key, else the local emulator.
  if (get("STRIPE_SECRET_KEY") === undefined) {
    const stripePort = parsePort(
      "STRIPE_EMULATOR_PORT",
      get("STRIPE_EMULATOR_PORT"),
      LOCAL_PORTS.stripe,
    );
    const secretKey = LOCAL_STRIPE_SECRET_KEY;
    const webhookSecret = get("STRIPE_WEBHOOK_SECRET") ?? LOCAL_WEBHOOK_SECRET;
    const emulator = await startStripeEmulator({
      port: stripePort,
      secretKey,
      webhook: { url: `${baseUrl}/functions/v1/stripe-webhook`, secret: webhookSecret },
      stateFile: `${DATA_DIR}stripe.json`,
    }).catch((error) => describeStartError("Stripe emulator", stripePort, error));
    cleanups.push(emulator.close);
    env.set("STRIPE_SECRET_KEY", secretKey);
    env.set("STRIPE_API_URL", emulator.url);
    env.set("STRIPE_WEBHOOK_SECRET", webhookSecret);
    useLocalPlans(env);
    if (get("BILLING_SYNC_SECRET") === undefined) env.set("BILLING_SYNC_SECRET", LOCAL_SYNC_SECRET);
    defaults.push(`stripe     local emulator at ${emulator.url}, webhooks to the local function`);
  } else {
    const api = get("STRIPE_API_URL") ?? "https://api.stripe.com";
    defaults.push(
      `stripe     ${api} (forward webhooks: stripe listen --forward-to ${baseUrl}/functions/v1/stripe-webhook)`,
    );
  }
  // Checkout and the portal come back to the demo, unless the app of your own is named.
  if (get("URL") === undefined) env.set("URL", baseUrl);

  const options = {
    env: get,
    logger: createLogger((line) => {
      if (!isIdleLoopLine(line)) console.log(line);
    }),
  };
  const sync = functionHandler(syncFunction, options);
  const handler = createDevHandler({
    checkout: functionHandler(checkoutFunction, options),
    portal: functionHandler(portalFunction, options),
    webhook: functionHandler(webhookFunction, options),
    sync,
    platform,
  });

  let server: Deno.HttpServer;
  try {
    server = Deno.serve({ hostname: "127.0.0.1", port, onListen() {} }, handler);
  } catch (error) {
    describeStartError("function server", port, error);
  }

  const syncSecret = get("BILLING_SYNC_SECRET");
  const interval = parseSeconds(
    "SYNC_INTERVAL_SECONDS",
    get("SYNC_INTERVAL_SECONDS"),
    LOCAL_SYNC_INTERVAL_SECONDS,
  );
  if (interval > 0 && syncSecret !== undefined) {
    const loop = startSyncLoop({
      handler: sync,
      secret: syncSecret,
      intervalSeconds: interval,
      log: (line) => console.log(line),
    });
    cleanups.unshift(loop.stop);
  }

  const tokenHint = platform
    ? `${port === LOCAL_PORTS.app ? "" : `PORT=${port} `}deno task token you@example.com`
    : "sign in through your Supabase project and use the session's access_token";
  const demo = platform
    ? [
      `Demo app:     ${baseUrl}/   (local test mode: sign in with any email, pay on the emulator's page)`,
      `              supabase-js: createClient("${baseUrl}", "${platform.publishableKey}")`,
      "",
    ]
    : [];
  console.log([
    "",
    `Stripe billing functions running at ${baseUrl}`,
    "",
    ...demo,
    `  POST ${baseUrl}/functions/v1/stripe-checkout   (also /api/stripe/checkout)`,
    `  POST ${baseUrl}/functions/v1/stripe-portal     (also /api/stripe/portal)`,
    `  POST ${baseUrl}/functions/v1/stripe-webhook    (also /api/stripe/webhook)`,
    `  POST ${baseUrl}/functions/v1/stripe-sync       (also /api/stripe/sync)`,
    "",
    ...defaults.map((line) => `  ${line}`),
    `  redirects  ${get("URL")}/dashboard`,
    `  sync       ${describeSync(interval, syncSecret)}`,
    "",
    `Get a token:  ${tokenHint}`,
    `Try it:       curl -X POST ${baseUrl}/functions/v1/stripe-checkout -H "Authorization: Bearer $TOKEN"`,
    "",
  ].join("\n"));

  const stop = async () => {
    await server.shutdown();
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
    Deno.exit(0);
  };
  Deno.addSignalListener("SIGINT", stop);
  Deno.addSignalListener("SIGTERM", stop);
}

await main();
