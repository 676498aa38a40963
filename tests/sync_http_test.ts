import assert from "node:assert/strict";
import { createLogger } from "../supabase/functions/_shared/log.ts";
import { functionHandler } from "../supabase/functions/_shared/serve.ts";
import { syncFunction } from "../supabase/functions/stripe-sync/handler.ts";
import { SYNC_SECRET } from "./_support/harness.ts";
import { callSync, stripeCallsSince, syncDigest, withFreshHarness } from "./_support/sync.ts";

const SYNC_URL = "http://127.0.0.1/functions/v1/stripe-sync";

async function assertError(response: Response, status: number, error: string): Promise<void> {
  assert.equal(response.status, status);
  assert.equal(response.headers.get("content-type"), "application/json");
  assert.equal(response.headers.get("access-control-allow-origin"), "*");
  assert.deepEqual(await response.json(), { error });
}

Deno.test({
  name: "stripe-sync answers 401 without its secret, or with another one, and does nothing",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: () =>
    withFreshHarness(async (h) => {
      const before = await syncDigest(h);
      const mark = h.emulator.requests().length;
      const send = (headers: Record<string, string>) =>
        h.sync(new Request(SYNC_URL, { method: "POST", headers }));
      await assertError(await send({}), 401, "Missing authorization header");
      await assertError(await send({ Authorization: "" }), 401, "Missing authorization header");
      for (
        const authorization of [
          "Bearer wrong-secret-of-some-length",
          `Bearer ${SYNC_SECRET}x`,
          `Bearer ${SYNC_SECRET.slice(0, -1)}`,
          `Basic ${SYNC_SECRET}`,
          SYNC_SECRET,
          `Bearer ${SYNC_SECRET} extra`,
          `Bearer ${h.issuer.jwks.keys[0]?.kid ?? "x"}`,
        ]
      ) {
        await assertError(await send({ Authorization: authorization }), 401, "Invalid sync secret");
      }
      assert.equal(await syncDigest(h), before);
      assert.deepEqual(stripeCallsSince(h, mark), []);
      const ok = await send({ Authorization: `bearer  ${SYNC_SECRET}` });
      assert.equal(ok.status, 200);
      await ok.body?.cancel();
    }),
});

Deno.test({
  name: "stripe-sync refuses a body it cannot read as its options with 400, before any work",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: () =>
    withFreshHarness(async (h) => {
      const before = await syncDigest(h);
      const mark = h.emulator.requests().length;
      const cases: [string, string][] = [
        ["not json", "Expected a JSON object"],
        ["[]", "Expected a JSON object"],
        ["true", "Expected a JSON object"],
        ['"check"', "Expected a JSON object"],
        ["null", "Expected a JSON object"],
        ['{"check": "true"}', 'Expected "check" to be a boolean'],
        ['{"check": 1}', 'Expected "check" to be a boolean'],
        ['{"chek": true}', 'Unknown option "chek"'],
        ['{"check": true, "dryRun": true}', 'Unknown option "dryRun"'],
        ['{"cursor": "abc"}', 'A "cursor" goes with "check": true'],
        ['{"check": false, "cursor": "abc"}', 'A "cursor" goes with "check": true'],
        ['{"check": true, "cursor": 7}', "Invalid cursor"],
        ['{"check": true, "cursor": "not a cursor"}', "Invalid cursor"],
        ['{"check": true, "cursor": "eyJzdGVwIjoiZHJvcCJ9"}', "Invalid cursor"],
      ];
      for (const [body, error] of cases) {
        const response = await h.sync(
          new Request(SYNC_URL, {
            method: "POST",
            headers: { Authorization: `Bearer ${SYNC_SECRET}` },
            body,
          }),
        );
        await assertError(response, 400, error);
      }
      const huge = await h.sync(
        new Request(SYNC_URL, {
          method: "POST",
          headers: { Authorization: `Bearer ${SYNC_SECRET}` },
          body: JSON.stringify({ check: true, cursor: "a".repeat(10_000) }),
        }),
      );
      await assertError(huge, 413, "Payload too large");
      assert.equal(await syncDigest(h), before);
      assert.deepEqual(stripeCallsSince(h, mark), []);
    }),
});

Deno.test({
  name: "stripe-sync answers 405 to other methods and 204 to a preflight, without its secret",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: () =>
    withFreshHarness(async (h) => {
      for (const method of ["GET", "PUT", "DELETE"]) {
        await assertError(
          await h.sync(new Request(SYNC_URL, { method })),
          405,
          "Method not allowed",
        );
      }
      const preflight = await h.sync(new Request(SYNC_URL, { method: "OPTIONS" }));
      assert.equal(preflight.status, 204);
      assert.equal(preflight.headers.get("access-control-allow-origin"), "*");
    }),
});

Deno.test("stripe-sync answers 500 Server misconfigured when BILLING_SYNC_SECRET is unset or weak", async () => {
  for (const secret of [undefined, "short", "has a space in it!"]) {
    const lines: string[] = [];
    const env: Record<string, string | undefined> = {
      BILLING_SYNC_SECRET: secret,
      STRIPE_SECRET_KEY: "sk_test_x",
      SUPABASE_DB_URL: "postgres://postgres@127.0.0.1:1/postgres",
    };
    const handler = functionHandler(syncFunction, {
      env: (name) => env[name],
      logger: createLogger((line) => lines.push(line)),
    });
    await assertError(await callSync(handler), 500, "Server misconfigured");
    assert.match(lines.join("\n"), /BILLING_SYNC_SECRET/);
    assert.ok(!lines.join("\n").includes("has a space"), "the secret reached the log");
  }
});

Deno.test({
  name:
    "a sync call while another holds the lease answers 409 and changes nothing; an expired lease is taken over",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: () =>
    withFreshHarness(async (h) => {
      await h.sql`
        update public.billing_sync_state set
          lease_token = gen_random_uuid(), lease_expires_at = now() + interval '5 minutes'`;
      const before = await syncDigest(h);
      const mark = h.emulator.requests().length;
      await assertError(await callSync(h.sync), 409, "Sync already running");
      await assertError(await callSync(h.sync, { check: true }), 409, "Sync already running");
      assert.equal(await syncDigest(h), before);
      assert.deepEqual(stripeCallsSince(h, mark), []);

      await h.sql`
        update public.billing_sync_state set lease_expires_at = now() - interval '1 second'`;
      const taken = await callSync(h.sync);
      assert.equal(taken.status, 200);
      assert.equal((await taken.json()).done, true);
      const [state] = await h.sql<{ free: boolean }[]>`
        select lease_token is null and lease_expires_at is null as free
        from public.billing_sync_state`;
      assert.equal(state?.free, true);
    }),
});

Deno.test({
  name: "of two sync calls at once, one runs and the other answers 409",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: () =>
    withFreshHarness(async (h) => {
      h.emulator.failNext({ method: "GET", path: /^\/v1\/events$/, delayMs: 1500, count: 1 });
      const first = callSync(h.sync);
      // The first call holds the lease while Stripe's event list keeps it waiting.
      await new Promise((resolve) => setTimeout(resolve, 500));
      await assertError(await callSync(h.sync), 409, "Sync already running");
      const response = await first;
      assert.equal(response.status, 200);
      assert.equal((await response.json()).done, true);
    }),
});
