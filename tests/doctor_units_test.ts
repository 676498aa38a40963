/** The doctor's pure parts: its command line, its variables table, Stripe's mode, the printer. */
import assert from "node:assert/strict";
import { parseArgs, UsageError } from "../cli/doctor/args.ts";
import { missingEventTypes, webhookUrl } from "../cli/doctor/endpoint.ts";
import { keyMode, otherModeOf } from "../cli/doctor/prices.ts";
import { failed, formatResult, formatTotals, passed, skipped } from "../cli/doctor/report.ts";
import { checkVariables, type FunctionName, VARIABLES } from "../cli/doctor/variables.ts";
import { ConfigError } from "../supabase/functions/_shared/config.ts";
import { HANDLED_EVENT_TYPES } from "../supabase/functions/_shared/events.ts";
import { createLogger } from "../supabase/functions/_shared/log.ts";
import type { Database } from "../supabase/functions/_shared/db.ts";
import type { EdgeFunction, FunctionDeps } from "../supabase/functions/_shared/serve.ts";
import { checkoutFunction } from "../supabase/functions/stripe-checkout/handler.ts";
import { portalFunction } from "../supabase/functions/stripe-portal/handler.ts";
import { syncFunction } from "../supabase/functions/stripe-sync/handler.ts";
import { webhookFunction } from "../supabase/functions/stripe-webhook/handler.ts";

Deno.test("parseArgs reads --fix, --url and --env-file, in both spellings", () => {
  assert.deepEqual(parseArgs([]), { help: false, fix: false, url: undefined, envFile: undefined });
  assert.deepEqual(
    parseArgs(["--fix", "--url", "https://abc.supabase.co/", "--env-file=prod.env"]),
    { help: false, fix: true, url: "https://abc.supabase.co", envFile: "prod.env" },
  );
  assert.equal(parseArgs(["--url=https://abc.supabase.co"]).url, "https://abc.supabase.co");
  assert.equal(parseArgs(["-h"]).help, true);
});

Deno.test("parseArgs refuses what it does not know with a usage error", () => {
  for (
    const [args, message] of [
      [["--force"], 'Unknown argument "--force"'],
      [["--url"], "--url needs a value"],
      [["--url="], "--url needs a value"],
      [["--fix=yes"], "--fix takes no value"],
      [["--url", "https://abc.supabase.co/?x=1"], "is not a project URL"],
      [["--env-file"], "--env-file needs a value"],
    ] as const
  ) {
    assert.throws(() => parseArgs(args), (error) => {
      assert.ok(error instanceof UsageError);
      assert.ok(error.message.includes(message), error.message);
      return true;
    });
  }
});

Deno.test("a key's mode is live for sk_live_ and rk_live_ keys, test otherwise", () => {
  assert.equal(keyMode("sk_live_abc"), "live");
  assert.equal(keyMode("rk_live_abc"), "live");
  assert.equal(keyMode("sk_test_abc"), "test");
  assert.equal(keyMode("rk_test_abc"), "test");
});

Deno.test("otherModeOf reads the mode Stripe names for a price of the other mode", () => {
  assert.equal(
    otherModeOf(
      "No such price: 'price_1'; a similar object exists in test mode, but a live mode key was used to make this request.",
    ),
    "test",
  );
  assert.equal(
    otherModeOf(
      "No such price: 'price_1'; a similar object exists in live mode, but a test mode key was used to make this request.",
    ),
    "live",
  );
  assert.equal(otherModeOf("No such price: 'price_1'"), null);
});

Deno.test("an endpoint of every event type (*) misses none; otherwise the handled ones it lacks", () => {
  assert.deepEqual(missingEventTypes(["*"]), []);
  assert.deepEqual(missingEventTypes([...HANDLED_EVENT_TYPES]), []);
  assert.deepEqual(missingEventTypes(HANDLED_EVENT_TYPES.slice(1)), [HANDLED_EVENT_TYPES[0]]);
  assert.equal(
    webhookUrl("https://abc.supabase.co/"),
    "https://abc.supabase.co/functions/v1/stripe-webhook",
  );
});

Deno.test("the printer marks each outcome, masks secrets, and shows a revealed secret as is", () => {
  assert.deepEqual(formatResult(passed("All good")), ["✓ All good"]);
  assert.deepEqual(formatResult(failed("Broken", "run this", ["a finding"])), [
    "✗ Broken → run this",
    "  a finding",
  ]);
  assert.deepEqual(formatResult(skipped("Prices", "no key (above)")), [
    "✗ Prices: not checked, no key (above)",
  ]);
  const leaky = failed(
    "Stripe said sk_live_abcdef123 and postgres://u:pw@host/db",
    "not whsec_abc123",
    ["eyJhbGciOi.eyJzdWIiOi.sig"],
  );
  const lines = formatResult({ ...leaky, reveal: ["STRIPE_WEBHOOK_SECRET=whsec_shownonce"] });
  assert.deepEqual(lines, [
    "✗ Stripe said [redacted] and postgres://u:[redacted]@host/db → not [redacted]",
    "  [redacted]",
    "  STRIPE_WEBHOOK_SECRET=whsec_shownonce",
  ]);
  assert.equal(formatTotals([passed("a"), passed("b")]), "All 2 checks pass.");
  assert.equal(
    formatTotals([passed("a"), failed("b", "c"), skipped("d", "e")]),
    "1 of 3 checks fail, 1 could not run.",
  );
});

/** Valid values of every variable the functions read. */
const VALID: Record<string, string> = {
  STRIPE_SECRET_KEY: "sk_test_units",
  STRIPE_PRICE_ID: "price_units",
  STRIPE_WEBHOOK_SECRET: "whsec_units",
  URL: "https://app.example.com",
  SUPABASE_URL: "https://abc.supabase.co",
  SUPABASE_DB_URL: "postgres://postgres:pw@127.0.0.1:5432/postgres",
  BILLING_SYNC_SECRET: "units-sync-secret-0123456789",
};

const FUNCTIONS: Record<FunctionName, EdgeFunction<FunctionDeps & { db: Database }>> = {
  "stripe-checkout": checkoutFunction,
  "stripe-portal": portalFunction,
  "stripe-webhook": webhookFunction,
  "stripe-sync": syncFunction,
};

/** Whether `fn` builds its dependencies from `env`, as on its first request. */
async function builds(
  fn: EdgeFunction<FunctionDeps & { db: Database }>,
  env: Record<string, string>,
): Promise<boolean> {
  try {
    const deps = fn.depsFromEnv((name) => env[name], createLogger(() => {}));
    await deps.db.end();
    return true;
  } catch (error) {
    if (error instanceof ConfigError) return false;
    throw error;
  }
}

Deno.test("the doctor's variables are the ones each function needs, no more and no fewer", async () => {
  for (const [name, fn] of Object.entries(FUNCTIONS)) {
    assert.ok(await builds(fn, VALID), `${name} builds with every variable set`);
    for (const spec of VARIABLES) {
      const without = { ...VALID };
      delete without[spec.name];
      assert.equal(
        !(await builds(fn, without)),
        spec.required && spec.readBy.includes(name as FunctionName),
        `${name} needs ${spec.name}`,
      );
      // A malformed optional variable breaks exactly the functions that read it.
      if (!spec.required) {
        assert.equal(
          !(await builds(fn, { ...without, [spec.name]: "%%malformed%%" })),
          spec.readBy.includes(name as FunctionName),
          `${name} reads ${spec.name}`,
        );
      }
    }
  }
  assert.ok(VARIABLES.every((spec) => spec.name in VALID || !spec.required));
});

Deno.test("checkVariables names the missing variable and its readers, and never a value", () => {
  const report = checkVariables((name) => name === "URL" ? undefined : VALID[name]);
  const failures = report.results.filter((result) => result.outcome === "fail");
  assert.deepEqual(failures.map((result) => result.summary), [
    'Missing environment variable "URL" (read by stripe-checkout, stripe-portal)',
  ]);
  assert.equal(report.config.siteUrl, undefined);
  assert.equal(report.config.stripePriceId, "price_units");
  const printed = report.results.flatMap(formatResult).join("\n");
  for (const secret of ["sk_test_units", "whsec_units", "units-sync-secret", ":pw@"]) {
    assert.ok(!printed.includes(secret), printed);
  }
});
