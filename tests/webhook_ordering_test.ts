/**
 * Order does not matter: whatever order, duplication or concurrency a subscription's history
 * arrives in, the profile ends at the subscription's current state at Stripe, and a user's newer
 * subscription is not displaced by an older one's late events.
 */
import assert from "node:assert/strict";
import {
  actualBilling,
  APPLIED_TYPES,
  assertSynced,
  ledgerCount,
  subscribe,
  type Subscribed,
} from "./_support/billing.ts";
import { eventsAbout, single } from "./_support/emulator.ts";
import { type Harness, harnessTest } from "./_support/harness.ts";
import { mulberry32, shuffle } from "./_support/random.ts";
import { assertAnswer } from "./_support/responses.ts";
import { deliverAll, deliverOk, eventOutcomes } from "./_support/webhook.ts";

/** A subscription with a long history at Stripe, none of it delivered. */
async function longHistory(h: Harness): Promise<Subscribed> {
  const subscribed = await subscribe(h);
  const control = h.emulator.subscription(subscribed.subscription.id);
  const price = await h.stripe.prices.create({
    currency: "usd",
    unit_amount: 3000,
    recurring: { interval: "month" },
    product_data: { name: "Business" },
  });
  control.renew();
  control.cancelAtPeriodEnd(true);
  control.cancelAtPeriodEnd(false);
  control.renew({ fail: true });
  control.payOpenInvoice();
  control.changePrice(price.id);
  control.pause();
  control.resume();
  control.cancelAt(Math.floor(Date.now() / 1000) + 20 * 24 * 60 * 60);
  assert.ok(subscribed.events().length >= 15);
  return subscribed;
}

harnessTest(
  "stripe-webhook ends at Stripe's current state when a history arrives reversed",
  async (h) => {
    const subscribed = await longHistory(h);
    await deliverAll(h, subscribed.events().reverse());
    await assertSynced(h, subscribed.user.id, subscribed.subscription.id);
    assert.equal((await actualBilling(h, subscribed.user.id)).subscription_status, "active");
  },
);

harnessTest(
  "stripe-webhook ends at Stripe's current state when a history arrives shuffled and duplicated",
  async (h) => {
    const subscribed = await longHistory(h);
    const events = subscribed.events();
    await deliverAll(h, shuffle([...events, ...events], mulberry32(20261124)));
    await assertSynced(h, subscribed.user.id, subscribed.subscription.id);
    for (const event of events) {
      assert.equal(await ledgerCount(h, event.id), APPLIED_TYPES.includes(event.type) ? 1 : 0);
    }
  },
);

harnessTest(
  "stripe-webhook ends at Stripe's current state when a history arrives all at once",
  async (h) => {
    const subscribed = await longHistory(h);
    const events = subscribed.events();
    const responses = await Promise.all(events.map((event) => h.deliver(event)));
    for (const response of responses) {
      await assertAnswer(response, 200, { received: true });
    }
    await assertSynced(h, subscribed.user.id, subscribed.subscription.id);
  },
);

harnessTest(
  "stripe-webhook keeps a user's newer subscription when an older canceled one's events arrive late",
  async (h) => {
    const first = await subscribe(h);
    const user = first.user;
    // Only part of the first subscription's history arrives before it is replaced.
    await deliverOk(h, first.completed);
    h.emulator.subscription(first.subscription.id).cancelNow();
    await deliverOk(h, single(first.events(), "customer.subscription.deleted"));
    assert.equal((await actualBilling(h, user.id)).subscription_status, "canceled");

    const second = await subscribe(h, {}, user);
    assert.notEqual(second.subscription.id, first.subscription.id);
    await deliverAll(h, second.events());
    await assertSynced(h, user.id, second.subscription.id);
    const before = await h.profile(user.id);

    // A late change to the old subscription (its metadata) and every old event, in any order.
    const mark = h.emulator.events().length;
    await h.stripe.subscriptions.update(first.subscription.id, { metadata: { note: "late" } });
    const late = single(
      eventsAbout(h, mark, [first.subscription.id]),
      "customer.subscription.updated",
    );
    await deliverOk(h, late);
    await deliverAll(h, first.events().reverse());

    assert.deepEqual(await h.profile(user.id), before);
    await assertSynced(h, user.id, second.subscription.id);
    // Delivered on its own, then again with the old history.
    assert.deepEqual(eventOutcomes(h, late.id), [
      "superseded",
      "duplicate",
    ]);
  },
);
