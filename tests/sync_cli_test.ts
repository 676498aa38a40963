import assert from "node:assert/strict";
import { DEFAULT_PRICE_ID } from "../dev/stripe/mod.ts";
import { type Harness, STRIPE_SECRET_KEY } from "./_support/harness.ts";
import { profileProblem } from "./_support/billing.ts";
import { seedFrom } from "./_support/random.ts";
import { playUndelivered, withFreshHarness } from "./_support/sync.ts";

/** `HISTORY_SEED` replays a failing run. */
const SEED = seedFrom("HISTORY_SEED", 20261201);

const CLI = new URL("../cli/sync.ts", import.meta.url).pathname;

/** Runs `deno task sync` with the harness's database and emulator and nothing else. */
async function syncCommand(h: Harness, args: string[], extra: Record<string, string> = {}) {
  const env: Record<string, string> = {
    SUPABASE_DB_URL: h.databaseUrl,
    STRIPE_SECRET_KEY,
    STRIPE_API_URL: h.stripeApiUrl,
    STRIPE_PRICE_ID: DEFAULT_PRICE_ID,
    NO_COLOR: "1",
    ...extra,
  };
  for (const name of ["PATH", "HOME", "DENO_DIR", "TMPDIR"]) {
    const value = Deno.env.get(name);
    if (value !== undefined) env[name] = value;
  }
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", CLI, ...args],
    env,
    clearEnv: true,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decoder = new TextDecoder();
  return {
    code: output.code,
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
  };
}

Deno.test({
  name:
    "deno task sync --check reports drift and exits 1 without writing, deno task sync repairs it and exits 0",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: () =>
    withFreshHarness(async (h) => {
      const played = await playUndelivered(h, 3, SEED + 400);
      const [first] = played;
      assert.ok(first);

      const check = await syncCommand(h, ["--check"]);
      assert.equal(check.code, 1, check.stderr);
      assert.match(check.stdout, /^Check pass finished in 1 call/m);
      assert.match(check.stdout, /profiles out of sync\s+3$/m);
      assert.match(check.stdout, /events replayed\s+0$/m);
      assert.match(check.stdout, new RegExp(`${first.user.id}\\s+${first.subscriptionId}`));
      assert.match(check.stdout, /Run `deno task sync`/);
      assert.equal((await h.profile(first.user.id)).stripe_subscription_id, null);

      const sync = await syncCommand(h, []);
      assert.equal(sync.code, 0, sync.stderr);
      assert.match(sync.stdout, /^Sync pass finished/m);
      assert.match(sync.stdout, /subscriptions checked\s+3$/m);
      for (const history of played) {
        assert.equal(await profileProblem(h, history.user.id, history.subscriptionId), null);
      }
      assert.ok(
        !sync.stdout.includes(STRIPE_SECRET_KEY) && !sync.stderr.includes(STRIPE_SECRET_KEY),
      );

      const clean = await syncCommand(h, ["--check"]);
      assert.equal(clean.code, 0, clean.stderr);
      assert.match(clean.stdout, /profiles out of sync\s+0$/m);
    }),
});

Deno.test({
  name: "deno task sync exits 2 with one line when it cannot run",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: () =>
    withFreshHarness(async (h) => {
      const badKey = await syncCommand(h, [], { STRIPE_SECRET_KEY: "pk_test_wrong" });
      assert.equal(badKey.code, 2);
      assert.match(badKey.stderr, /^error: Malformed environment variable "STRIPE_SECRET_KEY"/m);
      const badTrial = await syncCommand(h, [], { STRIPE_TRIAL_DAYS: "0" });
      assert.equal(badTrial.code, 2);
      assert.match(badTrial.stderr, /^error: Malformed environment variable "STRIPE_TRIAL_DAYS"/m);
      const unknown = await syncCommand(h, ["--force"]);
      assert.equal(unknown.code, 2);
      assert.match(unknown.stderr, /unknown argument "--force"/);
      await h.sql`
        update public.billing_sync_state set
          lease_token = gen_random_uuid(), lease_expires_at = now() + interval '5 minutes'`;
      const busy = await syncCommand(h, []);
      assert.equal(busy.code, 2);
      assert.match(busy.stderr, /another sync pass is running/);
    }),
});
