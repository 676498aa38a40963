/**
 * `deno task emulator`: the Stripe emulator alone, for `supabase start` + `supabase functions
 * serve`. It listens on STRIPE_EMULATOR_PORT (default 12111), signs its webhooks for
 * `--webhook-url` (default the local stripe-webhook function), reads its variables from the
 * environment and from `supabase/functions/.env`, and prints what the functions need.
 */
import { parseArgs } from "node:util";
import { readDevEnv } from "../env.ts";
import { redactKey } from "./auth.ts";
import { CATALOG } from "./catalog.ts";
import { startStripeEmulator } from "./emulator.ts";

const DEFAULT_PORT = 12111;
const DEFAULT_WEBHOOK_URL = "http://127.0.0.1:54321/functions/v1/stripe-webhook";
/** The keys the emulator uses when none is configured, as `deno task dev` does. */
const DEFAULT_SECRET_KEY = "sk_test_local_emulator";
const DEFAULT_WEBHOOK_SECRET = "whsec_local_emulator";

const USAGE = `Usage: deno task emulator [--webhook-url <url>] [--state-file <path>]

Runs the local Stripe emulator on STRIPE_EMULATOR_PORT (default ${DEFAULT_PORT}).
  --webhook-url <url>    where signed webhooks go (default ${DEFAULT_WEBHOOK_URL})
  --state-file <path>    keep the account in this JSON file between runs
Variables (environment, or supabase/functions/.env): STRIPE_EMULATOR_PORT, STRIPE_SECRET_KEY
(the key the emulator accepts), STRIPE_WEBHOOK_SECRET (the secret it signs with).`;

/** Ends the process with one line a person can act on. */
function fail(message: string): never {
  console.error(`error: ${message}`);
  Deno.exit(1);
}

function parsePort(value: string | undefined): number {
  if (value === undefined) return DEFAULT_PORT;
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    fail(`STRIPE_EMULATOR_PORT must be a port number, got "${value}"`);
  }
  return port;
}

function parseUrl(value: string): string {
  try {
    const url = new URL(value);
    if (url.protocol === "http:" || url.protocol === "https:") return url.href;
  } catch {
    // Reported below.
  }
  fail(`--webhook-url must be an http(s) URL, got "${value}"`);
}

/** A configured secret is shown masked (it may be a real one); a default one in full. */
function shown(value: string, fromEnvironment: string | undefined, name: string): string {
  return fromEnvironment === undefined ? value : `${redactKey(value)}  (from ${name})`;
}

async function main(): Promise<void> {
  let flags;
  try {
    flags = parseArgs({
      args: Deno.args,
      options: {
        "webhook-url": { type: "string" },
        "state-file": { type: "string" },
        help: { type: "boolean" },
      },
    }).values;
  } catch (error) {
    fail(`${error instanceof Error ? error.message : error}\n${USAGE}`);
  }
  if (flags.help) {
    console.log(USAGE);
    return;
  }
  const env = await readDevEnv();
  const get = (name: string) => env.get(name) || undefined;
  const port = parsePort(get("STRIPE_EMULATOR_PORT"));
  const webhookUrl = parseUrl(flags["webhook-url"] ?? DEFAULT_WEBHOOK_URL);
  const configuredKey = get("STRIPE_SECRET_KEY");
  const secretKey = configuredKey ?? DEFAULT_SECRET_KEY;
  if (!/^sk_(test|live)_\w+$/.test(secretKey)) {
    fail("STRIPE_SECRET_KEY must look like sk_test_... or sk_live_...");
  }
  const configuredSecret = get("STRIPE_WEBHOOK_SECRET");
  const webhookSecret = configuredSecret ?? DEFAULT_WEBHOOK_SECRET;
  if (!webhookSecret.startsWith("whsec_")) fail("STRIPE_WEBHOOK_SECRET must look like whsec_...");

  let running;
  try {
    running = await startStripeEmulator({
      port,
      secretKey,
      webhook: { url: webhookUrl, secret: webhookSecret },
      stateFile: flags["state-file"],
    });
  } catch (error) {
    if (error instanceof Deno.errors.AddrInUse) {
      fail(
        `port ${port} is taken (set STRIPE_EMULATOR_PORT to another port, or stop what uses it)`,
      );
    }
    fail(`the Stripe emulator could not start: ${error instanceof Error ? error.message : error}`);
  }
  const prices = Object.entries(CATALOG.prices).map(([name, id]) =>
    `    ${id.padEnd(26)} ${CATALOG.lookupKeys[name as keyof typeof CATALOG.lookupKeys]}`
  );
  console.log([
    "",
    `Stripe emulator running at ${running.url}${
      secretKey.startsWith("sk_live_") ? " (live mode)" : ""
    }`,
    "",
    `  STRIPE_API_URL         ${running.url}`,
    `  STRIPE_SECRET_KEY      ${shown(secretKey, configuredKey, "STRIPE_SECRET_KEY")}`,
    `  STRIPE_WEBHOOK_SECRET  ${shown(webhookSecret, configuredSecret, "STRIPE_WEBHOOK_SECRET")}`,
    `  webhooks to            ${webhookUrl}`,
    "",
    "  prices (id, lookup key):",
    ...prices,
    "",
    "supabase functions serve runs in Docker: there, STRIPE_API_URL is " +
    `http://host.docker.internal:${new URL(running.url).port} (Docker Desktop forwards it here).`,
    "Press Ctrl-C to stop.",
    "",
  ].join("\n"));

  const stop = async () => {
    await running.close();
    Deno.exit(0);
  };
  Deno.addSignalListener("SIGINT", stop);
  Deno.addSignalListener("SIGTERM", stop);
}

await main();
