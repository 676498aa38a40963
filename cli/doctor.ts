/**
 * `deno task doctor [--fix] [--url <project URL>] [--env-file <path>]`: checks a set-up against
 * Stripe and the database with the functions' own variables and loader, one line per check
 * (`✓`, `✗` with what to run, `-` when a failure above keeps it from running). The checks live in
 * `cli/doctor/`: variables, prices (key, mode, prices), endpoint, database; `report.ts` prints.
 * Nothing secret is printed, except the signing secret of an endpoint that `--fix` creates.
 * Exit codes: 0 every check passes; 1 a check fails; 2 usage error.
 */
import { createStripe } from "../supabase/functions/_shared/stripe.ts";
import { readDevEnv, readDotenv } from "../dev/env.ts";
import { parseArgs, USAGE, UsageError } from "./doctor/args.ts";
import { checkDatabase, skipDatabase } from "./doctor/database.ts";
import { checkEndpoint, webhookUrl } from "./doctor/endpoint.ts";
import {
  type AllowedPrice,
  checkKey,
  checkMode,
  checkPrice,
  keyMode,
  resolvePrices,
} from "./doctor/prices.ts";
import { type CheckResult, failed, formatResult, formatTotals, skipped } from "./doctor/report.ts";
import { checkVariables } from "./doctor/variables.ts";

/** The variables: the environment over the dotenv file, as the functions' local runs read them. */
async function readVariables(envFile: string | undefined): Promise<Map<string, string>> {
  if (envFile === undefined) return await readDevEnv();
  try {
    await Deno.stat(envFile);
  } catch {
    throw new UsageError(`--env-file "${envFile}" cannot be read`);
  }
  const env = await readDotenv(envFile);
  for (const [name, value] of Object.entries(Deno.env.toObject())) env.set(name, value);
  return env;
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
  const report = (result: CheckResult) => {
    results.push(result);
    for (const line of formatResult(result)) console.log(line);
  };

  // Supabase sets SUPABASE_URL for deployed functions; --url stands in for it here.
  const notes: Record<string, string> = {};
  if (!env.get("SUPABASE_URL")?.trim() && options.url !== undefined) {
    env.set("SUPABASE_URL", options.url);
    notes.SUPABASE_URL = "from --url (Supabase sets it for deployed functions)";
  }
  const get = (name: string) => env.get(name);
  const projectUrl = options.url ?? (get("SUPABASE_URL")?.trim() || undefined);
  console.log(
    `Checking with the variables of the environment and ${
      options.envFile ?? "supabase/functions/.env"
    }${projectUrl ? `, for the project ${projectUrl}` : ""}${options.fix ? ", fixing" : ""}`,
  );

  const { results: variableResults, config } = checkVariables(get, notes);
  variableResults.forEach(report);

  const allowed: AllowedPrice[] = [
    ...(config.stripePriceId === undefined
      ? []
      : [{ reference: config.stripePriceId, variable: "STRIPE_PRICE_ID" as const }]),
    ...(config.stripePriceIds ?? []).map((reference) => ({
      reference,
      variable: "STRIPE_PRICE_IDS" as const,
    })),
  ];
  const endpointSummary = `Webhook endpoint ${projectUrl ? webhookUrl(projectUrl) : ""}`.trim();
  if (config.stripeSecretKey === undefined) {
    const reason = "STRIPE_SECRET_KEY is not usable (above)";
    report(skipped("Stripe key", reason));
    report(skipped("Prices in the same mode as the key", reason));
    report(skipped("Prices", reason));
    report(skipped(endpointSummary, reason));
  } else {
    const mode = keyMode(config.stripeSecretKey);
    const stripe = createStripe({
      secretKey: config.stripeSecretKey,
      api: config.stripeApi,
      maxNetworkRetries: 1,
      timeoutMs: 15_000,
    });
    const key = await checkKey(stripe, mode);
    report(key);
    if (key.outcome !== "pass") {
      const reason = "Stripe refused the key (above)";
      report(skipped("Prices in the same mode as the key", reason));
      report(skipped("Prices", reason));
      report(skipped(endpointSummary, reason));
    } else {
      const resolved = await resolvePrices(stripe, allowed);
      report(checkMode(mode, allowed, resolved));
      if (config.stripePriceId === undefined) {
        report(skipped("Default price", "STRIPE_PRICE_ID is not usable (above)"));
      }
      if (config.stripePriceIds === undefined) {
        report(skipped("More prices", "STRIPE_PRICE_IDS is malformed (above)"));
      }
      for (const price of allowed) report(checkPrice(mode, price, resolved.get(price.reference)));
      if (projectUrl === undefined && config.identity === undefined) {
        report(skipped("Webhook endpoint", "no project URL: SUPABASE_URL is not set (above)"));
      } else if (projectUrl === undefined) {
        report(failed(
          "Webhook endpoint: no project URL to look for",
          "pass --url https://<ref>.supabase.co, or set SUPABASE_URL",
        ));
      } else {
        report(await checkEndpoint(stripe, projectUrl, options.fix));
      }
    }
  }

  if (config.databaseUrl === undefined) {
    skipDatabase("SUPABASE_DB_URL is not usable (above)").forEach(report);
  } else {
    (await checkDatabase(config.databaseUrl)).forEach(report);
  }

  console.log("");
  console.log(formatTotals(results));
  return results.every((result) => result.outcome === "pass") ? 0 : 1;
}

Deno.exit(await main());
