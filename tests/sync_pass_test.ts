import assert from "node:assert/strict";
import { CATALOG, DEFAULT_PRICE_ID } from "../dev/stripe/mod.ts";
import { type Harness, type TestUser } from "./_support/harness.ts";
import { ledgerProblems, profileProblem } from "./_support/billing.ts";
import type { PlayedHistory } from "./_support/history.ts";
import { seedFrom } from "./_support/random.ts";
import {
  assertAllSynced,
  callSync,
  digestOf,
  playUndelivered,
  runPass,
  stripeCallsSince,
  syncDigest,
  syncHandler,
  withFreshHarness,
} from "./_support/sync.ts";
import { deliverAll } from "./_support/webhook.ts";

/** `HISTORY_SEED` replays a failing run. */
const SEED = seedFrom("HISTORY_SEED", 20261201);

/** The profiles and the ledger (not the sync's own bookkeeping). */
const billingDigest = (h: Harness) => digestOf(h, ["public.profiles", "public.stripe_events"]);

/** Users whose short histories were never delivered. */
const undeliveredHistories = (h: Harness, count: number, seed: number) =>
  playUndelivered(h, count, seed, { maxActions: 6 });

/** Delivers every event of the histories, so that the profiles start in sync. */
const deliverPlayed = (h: Harness, played: readonly PlayedHistory[]) =>
  deliverAll(h, played.flatMap((history) => history.events));

Deno.test({
  name:
    "one sync pass brings every profile to Stripe's state after deliveries were missed, and a second changes nothing",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: () =>
    withFreshHarness(async (h) => {
      const played = await undeliveredHistories(h, 8, SEED);
      const first = await runPass(h.sync);
      assert.ok(first.eventsReplayed > 0);
      assert.equal(first.eventsReplayed, first.eventsMissing);
      assert.equal(first.subscriptionsChecked, played.length);
      await assertAllSynced(h, played);
      assert.deepEqual(await ledgerProblems(h, played.flatMap((p) => p.events)), []);

      const before = await billingDigest(h);
      const second = await runPass(h.sync);
      assert.equal(second.eventsMissing, 0);
      assert.equal(second.eventsReplayed, 0);
      assert.equal(second.profilesOutOfSync, 0);
      assert.equal(second.profilesRepaired, 0);
      assert.deepEqual(second.drift, []);
      assert.equal(
        await billingDigest(h),
        before,
        "the second pass changed a profile or the ledger",
      );
      const [state] = await h.sql<{ finished: boolean }[]>`
        select last_pass_finished_at is not null and pass_started_at is null as finished
        from public.billing_sync_state`;
      assert.equal(state?.finished, true);
    }),
});

Deno.test({
  name: "a user who paid while the webhook endpoint was down is active after one sync pass",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: () =>
    withFreshHarness(async (h) => {
      const user: TestUser = await h.createUser();
      const response = await h.post(h.checkout, user.token);
      assert.equal(response.status, 200);
      await response.body?.cancel();
      const session = h.emulator.checkoutSessions().findLast((s) =>
        s.client_reference_id === user.id
      );
      assert.ok(session);
      const subscription = h.emulator.completeCheckout(session.id);
      assert.equal((await h.profile(user.id)).subscription_status, null);
      await runPass(h.sync);
      const profile = await h.profile(user.id);
      assert.equal(profile.subscription_status, "active");
      assert.equal(profile.stripe_subscription_id, subscription.id);
      assert.equal(await profileProblem(h, user.id, subscription.id), null);
    }),
});

Deno.test({
  name:
    "check mode lists profiles corrupted in the database without writing anything, then a pass repairs them",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: () =>
    withFreshHarness(async (h) => {
      const played = await undeliveredHistories(h, 6, SEED + 1);
      await deliverPlayed(h, played);
      await assertAllSynced(h, played);
      const [a, b, c, d] = played;
      assert.ok(a && b && c && d);
      await h
        .sql`update public.profiles set subscription_status = 'unpaid' where id = ${a.user.id}`;
      await h.sql`update public.profiles set price_id = 'price_wrong' where id = ${b.user.id}`;
      await h.sql`
        update public.profiles set current_period_end = current_period_end - interval '3 days'
        where id = ${c.user.id}`;
      await h.sql`
        update public.profiles set cancel_at_period_end = not cancel_at_period_end,
          subscription_created_at = now()
        where id = ${d.user.id}`;

      const before = await syncDigest(h);
      const stripeMark = h.emulator.requests().length;
      const check = await runPass(h.sync, { check: true });
      assert.equal(await syncDigest(h), before, "check mode wrote something");
      assert.equal(check.profilesOutOfSync, 4);
      assert.equal(check.profilesRepaired, 0);
      assert.equal(check.eventsMissing, 0);
      const fields = check.drift.map((drift) => `${drift.userId} ${drift.field}`).sort();
      assert.deepEqual(
        fields,
        [
          `${a.user.id} subscription_status`,
          `${b.user.id} price_id`,
          `${c.user.id} current_period_end`,
          `${d.user.id} cancel_at_period_end`,
          `${d.user.id} subscription_created_at`,
        ].sort(),
      );
      const wrongPrice = check.drift.find((drift) => drift.field === "price_id");
      assert.equal(wrongPrice?.database, "price_wrong");
      assert.equal(wrongPrice?.subscriptionId, b.subscriptionId);
      assert.ok(
        stripeCallsSince(h, stripeMark).every((call) => call.startsWith("GET /v1/")),
        "check mode only reads from Stripe",
      );

      const logMark = h.logs.length;
      const repair = await runPass(h.sync);
      assert.equal(repair.profilesOutOfSync, 4);
      assert.equal(repair.profilesRepaired, 4);
      await assertAllSynced(h, played);
      const repairedLines = h.logs.slice(logMark).map((line) => JSON.parse(line))
        .filter((line) => line.message === "profile repaired");
      assert.equal(repairedLines.length, 4);
      const lineOfB = repairedLines.find((line) => line.userId === b.user.id);
      assert.match(lineOfB?.changes ?? "", /price_id: price_wrong -> price_/);
      assert.equal((await runPass(h.sync)).profilesOutOfSync, 0);
    }),
});

Deno.test({
  name:
    "a pass re-reads from Stripe only the subscriptions whose profile differs, and lists each page once",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: () =>
    withFreshHarness(async (h) => {
      const played = await undeliveredHistories(h, 5, SEED + 2);
      await deliverPlayed(h, played);
      const [drifted] = played;
      assert.ok(drifted);
      await h.sql`
        update public.profiles set subscription_status = 'incomplete_expired'
        where id = ${drifted.user.id}`;
      const mark = h.emulator.requests().length;
      const totals = await runPass(h.sync);
      assert.equal(totals.profilesRepaired, 1, JSON.stringify(totals));
      const calls = stripeCallsSince(h, mark);
      assert.deepEqual(calls.filter((call) => call.startsWith("GET /v1/subscriptions/")), [
        `GET /v1/subscriptions/${drifted.subscriptionId}`,
      ]);
      assert.deepEqual(calls.filter((call) => !call.startsWith("GET /v1/subscriptions/")), [
        "GET /v1/events",
        "GET /v1/subscriptions",
        // The repaired profile's entitlements, then the catalog (the default price by id).
        "GET /v1/entitlements/active_entitlements",
        `GET /v1/prices/${DEFAULT_PRICE_ID}`,
        `GET /v1/products/${CATALOG.products.pro}/features`,
      ]);
    }),
});

Deno.test({
  name:
    "a pass over more pages than one call may read takes several calls, each done: false but the last",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: () =>
    withFreshHarness(async (h) => {
      const played = await undeliveredHistories(h, 7, SEED + 3);
      const sync = syncHandler(h, { limits: { maxPages: 2, pageSize: 3 } });
      const mark = h.emulator.requests().length;
      const totals = await runPass(sync);
      assert.ok(totals.calls >= 4, `${totals.calls} calls`);
      assert.deepEqual(totals.dones, [...Array(totals.calls - 1).fill(false), true]);
      const lists = stripeCallsSince(h, mark).filter((call) =>
        call === "GET /v1/events" || call === "GET /v1/subscriptions"
      );
      assert.ok(lists.length <= totals.calls * 2, `${lists.length} list pages`);
      assert.equal(totals.subscriptionsChecked, played.length);
      await assertAllSynced(h, played);
      assert.deepEqual(await ledgerProblems(h, played.flatMap((p) => p.events)), []);
    }),
});

Deno.test({
  name:
    "check calls walk a long pass with the cursor each one answers, and write nothing, not even the cursor",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: () =>
    withFreshHarness(async (h) => {
      const played = await undeliveredHistories(h, 5, SEED + 4);
      const sync = syncHandler(h, { limits: { maxPages: 1, pageSize: 4 } });
      const before = await syncDigest(h);
      const totals = await runPass(sync, { check: true });
      assert.equal(await syncDigest(h), before);
      assert.ok(totals.calls > 3, `${totals.calls} calls`);
      assert.equal(totals.subscriptionsChecked, played.length);
      assert.ok(totals.eventsMissing > 0);
      assert.equal(totals.eventsReplayed, 0);
      // The undelivered histories left every profile without its subscription.
      assert.equal(totals.profilesOutOfSync, played.length);
    }),
});

Deno.test({
  name: "a finished pass answers done: true and the call after it starts a new pass",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: () =>
    withFreshHarness(async (h) => {
      await undeliveredHistories(h, 2, SEED + 5);
      await runPass(h.sync);
      const [first] = await h.sql<{ at: Date }[]>`
        select last_pass_started_at as at from public.billing_sync_state`;
      const response = await callSync(h.sync);
      assert.equal(response.status, 200);
      assert.equal((await response.json()).done, true);
      const [second] = await h.sql<{ at: Date }[]>`
        select last_pass_started_at as at from public.billing_sync_state`;
      assert.ok(first?.at && second?.at && second.at > first.at);
    }),
});

Deno.test({
  name:
    "subscriptions changed at Stripe without any event are listed by check mode, then repaired, and an outage's missed deliveries replayed",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: () =>
    withFreshHarness(async (h) => {
      const played = await undeliveredHistories(h, 4, SEED + 6);
      await deliverPlayed(h, played);
      const live = [];
      for (const history of played) {
        const subscription = await h.stripe.subscriptions.retrieve(history.subscriptionId);
        if (subscription.status !== "canceled") live.push(history);
      }
      const [edited, other] = live;
      assert.ok(edited && other, "the seed gave fewer than two live subscriptions");
      const events = h.emulator.events().length;
      h.emulator.handEdit(edited.subscriptionId, { cancelAtPeriodEnd: true });
      h.emulator.handEdit(other.subscriptionId, { status: "past_due" });
      assert.equal(h.emulator.events().length, events, "a hand edit sent an event");

      const check = await runPass(h.sync, { check: true });
      // Scheduling a cancellation also sets when it happens and when it was asked for.
      assert.deepEqual(
        check.drift.map((drift) => `${drift.subscriptionId} ${drift.field}`).sort(),
        [
          `${edited.subscriptionId} cancel_at`,
          `${edited.subscriptionId} cancel_at_period_end`,
          `${edited.subscriptionId} canceled_at`,
          `${other.subscriptionId} subscription_status`,
        ].sort(),
      );
      assert.equal(
        check.drift.find((drift) => drift.field === "subscription_status")?.stripe,
        "past_due",
      );
      assert.equal(check.eventsMissing, 0);

      // Meanwhile the endpoint goes down: a user subscribes and nothing is delivered.
      h.emulator.setOutage(true);
      const [late] = await playUndelivered(h, 1, SEED + 7, { maxActions: 3 });
      h.emulator.setOutage(false);
      assert.ok(late);

      const repair = await runPass(h.sync);
      assert.equal(repair.profilesRepaired, 2);
      assert.ok(repair.eventsReplayed > 0);
      await assertAllSynced(h, [...played, late]);
    }),
});
