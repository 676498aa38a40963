import assert from "node:assert/strict";
import { createLogger } from "../supabase/functions/_shared/log.ts";
import {
  type EdgeFunction,
  type FunctionDeps,
  functionHandler,
} from "../supabase/functions/_shared/serve.ts";
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
  STRIPE_WEBHOOK_SECRET: "whsec_x",
  URL: "http://localhost:3000",
  SUPABASE_URL: "http://127.0.0.1:54321",
  SUPABASE_DB_URL: "postgres://postgres@127.0.0.1:1/postgres",
};

/** Serves `fn` without `missing` and checks the first request's answer and log line. */
async function assertMisconfigured<D extends FunctionDeps>(fn: EdgeFunction<D>, missing: string) {
  const lines: string[] = [];
  const handler = functionHandler(fn, {
    env: (variable) => variable === missing ? undefined : ENV[variable],
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
