/**
 * The variables the functions read, checked by the functions' own loader (`loadConfig`), so that
 * the doctor and the functions agree on what is valid. One line per variable; optional ones only
 * when set.
 */
import {
  type Config,
  ConfigError,
  type ConfigKey,
  type EnvReader,
  loadConfig,
} from "../../supabase/functions/_shared/config.ts";
import { type CheckResult, failed, passed } from "./report.ts";

/** A deployed function's name. */
export type FunctionName = "stripe-checkout" | "stripe-portal" | "stripe-webhook" | "stripe-sync";

const ALL: readonly FunctionName[] = [
  "stripe-checkout",
  "stripe-portal",
  "stripe-webhook",
  "stripe-sync",
];

/** One variable: the loader's key that validates it, who reads it, and how to set it. */
export interface VariableSpec {
  name: string;
  key: ConfigKey;
  /** Whether a function that reads it fails without it (optional ones have a default). */
  required: boolean;
  readBy: readonly FunctionName[];
  /** What to run when it is missing or malformed. */
  fix: string;
  /** How its value is shown on a passing line; never the value of a secret. */
  show(value: string): string;
}

const SET = () => "set";
const AS_IS = (value: string) => value;

/**
 * Every variable of the functions, in the order the report lists them. `readBy` is what each
 * function's `depsFromEnv` loads (a test holds the two together), plus the optional variables
 * of checkout's plans.
 */
export const VARIABLES: readonly VariableSpec[] = [
  {
    name: "STRIPE_SECRET_KEY",
    key: "stripeSecretKey",
    required: true,
    readBy: ALL,
    fix:
      "supabase secrets set STRIPE_SECRET_KEY=sk_live_... (Stripe Dashboard, Developers, API keys)",
    show: (value) =>
      `a ${/_live_/.test(value) ? "live" : "test"}-mode ${
        value.startsWith("rk_") ? "restricted" : "secret"
      } key`,
  },
  {
    name: "STRIPE_API_URL",
    key: "stripeApi",
    required: false,
    readBy: ALL,
    fix: "unset it to use Stripe's own API: supabase secrets unset STRIPE_API_URL",
    // Only the origin: a URL may carry a user name and password.
    show: (value) => `${new URL(value).origin}, a Stripe-compatible API instead of Stripe's own`,
  },
  {
    name: "STRIPE_PRICE_ID",
    key: "stripePriceId",
    required: true,
    readBy: ["stripe-checkout", "stripe-webhook", "stripe-sync"],
    fix: "supabase secrets set STRIPE_PRICE_ID=price_... (a price id or a price's lookup key)",
    show: AS_IS,
  },
  {
    name: "STRIPE_PRICE_IDS",
    key: "stripePriceIds",
    required: false,
    readBy: ["stripe-checkout", "stripe-webhook", "stripe-sync"],
    fix: "supabase secrets set STRIPE_PRICE_IDS=price_...,lookup_key (comma-separated)",
    show: AS_IS,
  },
  {
    name: "STRIPE_TRIAL_DAYS",
    key: "trialDays",
    required: false,
    readBy: ["stripe-checkout", "stripe-webhook", "stripe-sync"],
    fix: "supabase secrets set STRIPE_TRIAL_DAYS=14 (1 to 730), or unset it",
    show: AS_IS,
  },
  {
    name: "STRIPE_TRIAL_REQUIRE_CARD",
    key: "trialRequireCard",
    required: false,
    readBy: ["stripe-checkout"],
    fix: "supabase secrets set STRIPE_TRIAL_REQUIRE_CARD=false (or true, the default)",
    show: AS_IS,
  },
  {
    name: "STRIPE_ALLOW_PROMOTION_CODES",
    key: "allowPromotionCodes",
    required: false,
    readBy: ["stripe-checkout"],
    fix: "supabase secrets set STRIPE_ALLOW_PROMOTION_CODES=true (or false, the default)",
    show: AS_IS,
  },
  {
    name: "STRIPE_AUTOMATIC_TAX",
    key: "automaticTax",
    required: false,
    readBy: ["stripe-checkout"],
    fix: "supabase secrets set STRIPE_AUTOMATIC_TAX=true (or false, the default)",
    show: AS_IS,
  },
  {
    name: "STRIPE_WEBHOOK_SECRET",
    key: "stripeWebhookSecret",
    required: true,
    readBy: ["stripe-webhook"],
    fix: "for a new endpoint `deno task doctor --fix` prints it; for an existing one, " +
      "its signing secret from the Dashboard: supabase secrets set STRIPE_WEBHOOK_SECRET=whsec_...",
    show: SET,
  },
  {
    name: "URL",
    key: "siteUrl",
    required: true,
    readBy: ["stripe-checkout", "stripe-portal"],
    fix: "supabase secrets set URL=https://your-app.example.com",
    show: AS_IS,
  },
  {
    name: "SUPABASE_URL",
    key: "identity",
    required: true,
    readBy: ["stripe-checkout", "stripe-portal"],
    fix: "Supabase sets it for deployed functions; here pass --url https://<ref>.supabase.co " +
      "or set SUPABASE_URL",
    show: AS_IS,
  },
  {
    name: "SUPABASE_DB_URL",
    key: "databaseUrl",
    required: true,
    readBy: ALL,
    fix: "Supabase sets it for deployed functions; here set SUPABASE_DB_URL to the project's " +
      "connection string (Dashboard, Connect, direct connection)",
    show: SET,
  },
  {
    name: "BILLING_SYNC_SECRET",
    key: "billingSyncSecret",
    required: true,
    readBy: ["stripe-sync"],
    fix: "supabase secrets set BILLING_SYNC_SECRET=$(openssl rand -hex 32)",
    show: SET,
  },
];

/** What the variable checks found: a line each, and the values that are valid. */
export interface VariableReport {
  results: CheckResult[];
  config: Partial<Config>;
}

function readers(spec: VariableSpec): string {
  return spec.readBy.length === ALL.length ? "all functions" : spec.readBy.join(", ");
}

/** Checks every variable: present when required, and well formed, as the functions read it. */
export function checkVariables(
  env: EnvReader,
  notes: Partial<Record<string, string>> = {},
): VariableReport {
  const results: CheckResult[] = [];
  const config: Partial<Config> = {};
  for (const spec of VARIABLES) {
    const value = env(spec.name)?.trim() || undefined;
    try {
      Object.assign(config, loadConfig([spec.key], env));
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      results.push(failed(`${error.message} (read by ${readers(spec)})`, spec.fix));
      continue;
    }
    // The identity is valid with SUPABASE_JWKS alone.
    if (value === undefined && !spec.required) continue;
    const shown = value === undefined ? "not set (SUPABASE_JWKS is)" : spec.show(value);
    const note = notes[spec.name] === undefined ? "" : `, ${notes[spec.name]}`;
    results.push(passed(`${spec.name}: ${shown}${note} (read by ${readers(spec)})`));
  }
  return { results, config };
}
