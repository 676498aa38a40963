import assert from "node:assert/strict";
import { createLogger } from "../supabase/functions/_shared/log.ts";
import {
  type EdgeFunction,
  type FunctionDeps,
  functionHandler,
} from "../supabase/functions/_shared/serve.ts";
import { HANDLED_EVENT_TYPES } from "../supabase/functions/_shared/events.ts";
import { checkoutFunction } from "../supabase/functions/stripe-checkout/handler.ts";
import { portalFunction } from "../supabase/functions/stripe-portal/handler.ts";
import { webhookFunction } from "../supabase/functions/stripe-webhook/handler.ts";
import { syncFunction } from "../supabase/functions/stripe-sync/handler.ts";
import { assertAnswer } from "./_support/responses.ts";

const FUNCTIONS_DIR = new URL("../supabase/functions/", import.meta.url);
const NAMES = ["stripe-checkout", "stripe-portal", "stripe-webhook", "stripe-sync"];

interface ModuleInfo {
  specifier: string;
  /** Set when the module itself cannot be loaded. */
  error?: string;
  dependencies?: { specifier: string; code?: { error?: string }; type?: { error?: string } }[];
}

/** What `deno info` could not resolve or load; it reports these in its JSON and still exits 0. */
function resolutionErrors(modules: ModuleInfo[]): string[] {
  return modules.flatMap((module) => [
    ...(module.error ? [`${module.specifier}: ${module.error}`] : []),
    ...(module.dependencies ?? []).flatMap((dependency) =>
      [dependency.code?.error, dependency.type?.error]
        .filter((error): error is string => error !== undefined)
        .map((error) => `${module.specifier} -> ${dependency.specifier}: ${error}`)
    ),
  ]);
}

Deno.test("each function's import graph stays inside supabase/functions and resolves without deno.json", async () => {
  for (const name of NAMES) {
    const entry = new URL(`${name}/index.ts`, FUNCTIONS_DIR);
    const output = await new Deno.Command(Deno.execPath(), {
      args: ["info", "--json", "--no-config", entry.pathname],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.ok(output.success, new TextDecoder().decode(output.stderr));
    const info = JSON.parse(new TextDecoder().decode(output.stdout)) as { modules: ModuleInfo[] };
    assert.deepEqual(resolutionErrors(info.modules), [], name);
    const local = info.modules.map((module) => module.specifier).filter((s) =>
      s.startsWith("file:")
    );
    assert.ok(local.length >= 5, name);
    for (const specifier of local) {
      const inOwnFolder = specifier.startsWith(new URL(`${name}/`, FUNCTIONS_DIR).href);
      const inShared = specifier.startsWith(new URL("_shared/", FUNCTIONS_DIR).href);
      assert.ok(inOwnFolder || inShared, `${name} imports ${specifier}`);
    }
    const remote = info.modules.map((module) => module.specifier).filter((s) =>
      !s.startsWith("file:")
    );
    for (const specifier of remote) {
      assert.doesNotMatch(specifier, /^(jsr:|https?:)/, `${name} imports ${specifier}`);
    }
  }
});

Deno.test("supabase/config.toml turns verify_jwt off for the webhook and the sync only", async () => {
  const toml = await Deno.readTextFile(new URL("../supabase/config.toml", import.meta.url));
  const sections = toml.split(/^\[/m);
  for (const name of NAMES) {
    const section = sections.find((s) => s.startsWith(`functions.${name}]`));
    assert.ok(section, name);
    const off = /^verify_jwt\s*=\s*false/m.test(section);
    assert.equal(off, name === "stripe-webhook" || name === "stripe-sync", name);
  }
});

const ENV: Record<string, string> = {
  STRIPE_SECRET_KEY: "sk_test_x",
  STRIPE_PRICE_ID: "price_x",
  BILLING_SYNC_SECRET: "a-sync-secret-of-the-deploy-test",
  STRIPE_WEBHOOK_SECRET: "whsec_x",
  URL: "http://localhost:3000",
  SUPABASE_URL: "http://127.0.0.1:54321",
  SUPABASE_DB_URL: "postgres://postgres@127.0.0.1:1/postgres",
};

/**
 * Serves `fn` without `missing` (or with `value` for it) and checks the first request's answer
 * and log line.
 */
async function assertMisconfigured<D extends FunctionDeps>(
  fn: EdgeFunction<D>,
  missing: string,
  value?: string,
) {
  const lines: string[] = [];
  const handler = functionHandler(fn, {
    env: (variable) => variable === missing ? value : ENV[variable],
    logger: createLogger((line) => lines.push(line)),
  });
  const response = await handler(new Request("http://127.0.0.1/", { method: "POST" }));
  assert.equal(response.status, 500, fn.name);
  await assertAnswer(response, 500, { error: "Server misconfigured" });
  assert.equal(lines.length, 1);
  assert.match(lines[0] ?? "", new RegExp(`\\\\"${missing}\\\\"`));
  assert.equal(JSON.parse(lines[0] ?? "").function, fn.name);
  const preflight = await handler(new Request("http://127.0.0.1/", { method: "OPTIONS" }));
  assert.equal(preflight.status, 204);
}

Deno.test("a missing variable answers 500 Server misconfigured and is named in the log", async () => {
  await assertMisconfigured(checkoutFunction, "STRIPE_PRICE_ID");
  await assertMisconfigured(portalFunction, "URL");
  await assertMisconfigured(webhookFunction, "STRIPE_WEBHOOK_SECRET");
  await assertMisconfigured(syncFunction, "BILLING_SYNC_SECRET");
});

Deno.test("a malformed plan variable answers 500 Server misconfigured and is named in the log", async () => {
  const malformed: [string, string][] = [
    ["STRIPE_PRICE_ID", "cus_not_a_price"],
    ["STRIPE_PRICE_IDS", "basic_monthly,prod_not_a_price"],
    ["STRIPE_TRIAL_DAYS", "0"],
    ["STRIPE_TRIAL_DAYS", "abc"],
    ["STRIPE_TRIAL_DAYS", "731"],
    ["STRIPE_TRIAL_REQUIRE_CARD", "no"],
    ["STRIPE_ALLOW_PROMOTION_CODES", "yes"],
    ["STRIPE_AUTOMATIC_TAX", "1"],
  ];
  for (const [name, value] of malformed) await assertMisconfigured(checkoutFunction, name, value);
  // The webhook and the sync write the catalog of the same plans.
  const each = [
    (name: string, value?: string) => assertMisconfigured(webhookFunction, name, value),
    (name: string, value?: string) => assertMisconfigured(syncFunction, name, value),
  ];
  for (const check of each) {
    await check("STRIPE_PRICE_ID");
    await check("STRIPE_PRICE_IDS", "price_ok,sub_not_a_price");
    await check("STRIPE_TRIAL_DAYS", "0");
  }
});

Deno.test("the README's webhook events are exactly the types the webhook handles", async () => {
  const readme = await Deno.readTextFile(new URL("../README.md", import.meta.url));
  const marker = "<!-- webhook-events:";
  const start = readme.indexOf(marker);
  assert.ok(start >= 0, "the README lost its webhook events marker");
  const block = /```\n([^`]*)```/.exec(readme.slice(start));
  assert.ok(block?.[1], "no list after the marker");
  const listed = block[1].split(/\s+/).filter(Boolean);
  assert.equal(new Set(listed).size, listed.length, "a type is listed twice");
  assert.deepEqual(new Set(listed), new Set<string>(HANDLED_EVENT_TYPES));
});
