/**
 * The sync and entitlements: a pass replays missed entitlement summaries, and a profile it
 * repairs gets its customer's entitlements afresh from Stripe.
 */
import assert from "node:assert/strict";
import { entitlementsProblem, stripeEntitlements } from "./_support/billing.ts";
import { seedFrom } from "./_support/random.ts";
import { playUndelivered, runPass, withFreshHarness } from "./_support/sync.ts";
import { deliverAll } from "./_support/webhook.ts";

/** `HISTORY_SEED` replays a failing run. */
const SEED = seedFrom("HISTORY_SEED", 20261202);

Deno.test({
  name: "a sync pass repairs a drifted profile's entitlements with its subscription",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: () =>
    withFreshHarness(async (h) => {
      const played = await playUndelivered(h, 3, SEED, { maxActions: 4, cancelChance: 0 });
      await deliverAll(h, played.flatMap((history) => history.events));
      const live = [];
      for (const history of played) {
        assert.equal(await entitlementsProblem(h, history.user.id, history.customerId), null);
        if ((await stripeEntitlements(h, history.customerId)).length > 0) live.push(history);
      }
      const [drifted] = live;
      assert.ok(drifted, "no history ended with entitlements; pick another seed");
      // A hand edit in the database: the status and the entitlements both wrong.
      await h.sql`
        update public.profiles set subscription_status = 'canceled', entitlements = '{nothing}'
        where id = ${drifted.user.id}`;
      const totals = await runPass(h.sync);
      assert.equal(totals.profilesRepaired, 1, JSON.stringify(totals));
      assert.equal(await entitlementsProblem(h, drifted.user.id, drifted.customerId), null);
    }),
});

Deno.test({
  name: "a sync pass replays missed entitlement summaries: every profile ends with Stripe's",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: () =>
    withFreshHarness(async (h) => {
      const played = await playUndelivered(h, 4, SEED + 1, { maxActions: 6 });
      // Everything but the summaries arrived.
      await deliverAll(
        h,
        played.flatMap((history) =>
          history.events.filter((event) =>
            event.type !== "entitlements.active_entitlement_summary.updated"
          )
        ),
      );
      const totals = await runPass(h.sync);
      assert.ok(totals.eventsReplayed >= played.length, JSON.stringify(totals));
      assert.equal(totals.profilesOutOfSync, 0);
      for (const history of played) {
        assert.equal(await entitlementsProblem(h, history.user.id, history.customerId), null);
      }
    }),
});
