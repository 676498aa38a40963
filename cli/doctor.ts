/**
 * `deno task doctor [--fix] [--url <project URL>] [--env-file <path>]`: checks a set-up against
 * Stripe and the database with the functions' own variables and loader, one line per check
 * (`✓`, `✗` with what to run, `-` when a failure above keeps it from running). The checks live in
 * `cli/doctor/`: variables, prices (key, mode, prices), endpoint, database; `report.ts` prints.
 * Nothing secret is printed, except the signing secret of an endpoint that `--fix` creates.
 * Exit codes: 0 every check passes; 1 a check fails; 2 usage error.
 */
import type { Config } from "../supabase/functions/_shared/config.ts";
import { createStripe } from "../supabase/functions/_shared/stripe.ts";
import { parseDotenv, readDevEnv } from "../dev/env.ts";
import { parseArgs, USAGE, UsageError } from "./doctor/args.ts";
import { checkDatabase, skipDatabase } from "./doctor/database.ts";
import { checkEndpoint, webhookUrl } from "./doctor/endpoint.ts";
import {
  type AllowedPrice,
  checkKey,
  checkMode,
  checkPrice,
  keyMode,
  MODE_CHECK,
  resolvePrices,
} from "./doctor/prices.ts";
import { type CheckResult, failed, formatResult, formatTotals, skipped } from "./doctor/report.ts";
import { checkVariables } from "./doctor/variables.ts";

/** The variables: the environment over the dotenv file, as the functions' local runs read them. */
async function readVariables(envFile: string | undefined): Promise<Map<string, string>> {
  if (envFile === undefined) return await readDevEnv();
  let env: Map<string, string>;
  try {
    env = parseDotenv(await Deno.readTextFile(envFile));
  } catch {
    throw new UsageError(`--env-file "${envFile}" cannot be read`);
  }
  for (const [name, value] of Object.entries(Deno.env.toObject())) env.set(name, value);
  return env;
}

/** The Stripe checks: key, mode, each allowed price, and the project's webhook endpoint. */
async function stripeChecks(
  config: Partial<Config>,
  projectUrl: string | undefined,
  fix: boolean,
): Promise<CheckResult[]> {
  const endpointSummary = projectUrl
    ? `Webhook endpoint ${webhookUrl(projectUrl)}`
    : "Webhook endpoint";
  const skipAll = (reason: string) => [
    skipped(MODE_CHECK, reason),
    skipped("Prices", reason),
    skipped(endpointSummary, reason),
  ];
  if (config.stripeSecretKey === undefined) {
    const reason = "STRIPE_SECRET_KEY is not usable (above)";
    return [skipped("Stripe key", reason), ...skipAll(reason)];
  }
  const mode = keyMode(config.stripeSecretKey);
  const stripe = createStripe({
    secretKey: config.stripeSecretKey,
    api: config.stripeApi,
    maxNetworkRetries: 1,
    timeoutMs: 15_000,
  });
  const key = await checkKey(stripe, mode);
  if (key.outcome !== "pass") return [key, ...skipAll("the key check failed (above)")];

  const allowed: AllowedPrice[] = [
    ...(config.stripePriceId === undefined
      ? []
      : [{ reference: config.stripePriceId, variable: "STRIPE_PRICE_ID" as const }]),
    ...(config.stripePriceIds ?? [])
      .filter((reference) => reference !== config.stripePriceId)
      .map((reference) => ({ reference, variable: "STRIPE_PRICE_IDS" as const })),
  ];
  const resolved = await resolvePrices(stripe, allowed);
  const results = [key, checkMode(mode, allowed, resolved)];
  if (config.stripePriceId === undefined) {
    results.push(skipped("Default price", "STRIPE_PRICE_ID is not usable (above)"));
  }
  if (config.stripePriceIds === undefined) {
    results.push(skipped("More prices", "STRIPE_PRICE_IDS is malformed (above)"));
  }
  for (const price of allowed) results.push(checkPrice(mode, price, resolved.get(price.reference)));
  if (projectUrl !== undefined) {
    results.push(await checkEndpoint(stripe, projectUrl, fix));
  } else if (config.identity === undefined) {
    results.push(skipped(endpointSummary, "no project URL: SUPABASE_URL is not usable (above)"));
  } else {
    results.push(failed(
      "Webhook endpoint: no project URL to look for",
      "pass --url https://<ref>.supabase.co, or set SUPABASE_URL",
    ));
  }
  return results;
}

async function main(): Promise<number> {
  let options;
  let env;
  try {
    options = parseArgs(Deno.args);
    if (options.help) {
      console.log(USAGE);
      return 0;
    }
    env = await readVariables(options.envFile);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    console.error(`error: ${error.message}\n\n${USAGE}`);
    return 2;
  }

  const results: CheckResult[] = [];
  const report = (group: CheckResult[]) => {
    results.push(...group);
    for (const line of group.flatMap(formatResult)) console.log(line);
  };

  // Supabase sets SUPABASE_URL for deployed functions; --url stands in for it here.
  const notes: Record<string, string> = {};
  if (!env.get("SUPABASE_URL")?.trim() && options.url !== undefined) {
    env.set("SUPABASE_URL", options.url);
    notes.SUPABASE_URL = "from --url, as Supabase sets it for deployed functions";
  }
  const variables = checkVariables((name) => env.get(name), notes);
  const config = variables.config;
  const projectUrl = options.url ?? config.identity?.supabaseUrl;
  console.log(
    `Checking with the variables of the environment and ${
      options.envFile ?? "supabase/functions/.env"
    }${projectUrl ? `, for the project ${projectUrl}` : ""}${options.fix ? ", fixing" : ""}`,
  );
  report(variables.results);
  report(await stripeChecks(config, projectUrl, options.fix));
  report(
    config.databaseUrl === undefined
      ? skipDatabase("SUPABASE_DB_URL is not usable (above)")
      : await checkDatabase(config.databaseUrl),
  );

  console.log("");
  console.log(formatTotals(results));
  return results.every((result) => result.outcome === "pass") ? 0 : 1;
}

Deno.exit(await main());
