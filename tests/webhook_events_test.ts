/**
 * What each event type the webhook handles does to the profile: the profile ends equal to the
 * subscription at Stripe, every billing column, after each change's own event.
 */
import assert from "node:assert/strict";
import { DEFAULT_PRICE_ID } from "../dev/stripe/mod.ts";
import { idOf } from "../supabase/functions/_shared/subscription.ts";
import { actualBilling, assertSynced, subscribe } from "./_support/billing.ts";
import { single } from "./_support/emulator.ts";
import { harnessTest } from "./_support/harness.ts";
import { deliverOk, deliverOnly } from "./_support/webhook.ts";

harnessTest(
  "stripe-webhook applies checkout.session.completed: active, customer, subscription and dates",
  async (h) => {
    const subscribed = await subscribe(h);
    await deliverOk(h, subscribed.completed);
    const sub = subscribed.subscription;
    const item = sub.items.data[0];
    assert.ok(item);
    assert.deepEqual(await actualBilling(h, subscribed.user.id), {
      subscription_status: "active",
      stripe_subscription_id: sub.id,
      stripe_customer_id: idOf(sub.customer),
      price_id: DEFAULT_PRICE_ID,
      current_period_end: item.current_period_end,
      cancel_at_period_end: false,
      cancel_at: null,
      canceled_at: null,
      trial_end: null,
      subscription_created_at: sub.created,
    });
    await assertSynced(h, subscribed.user.id, sub.id);
  },
);

harnessTest("stripe-webhook applies customer.subscription.created", async (h) => {
  const subscribed = await subscribe(h);
  await deliverOk(h, single(subscribed.events(), "customer.subscription.created"));
  const billing = await actualBilling(h, subscribed.user.id);
  assert.equal(billing.subscription_status, "active");
  assert.equal(billing.stripe_subscription_id, subscribed.subscription.id);
  await assertSynced(h, subscribed.user.id, subscribed.subscription.id);
});

harnessTest(
  "stripe-webhook applies customer.subscription.updated for cancel at period end and back",
  async (h) => {
    const subscribed = await subscribe(h);
    const { user, subscription } = subscribed;
    const control = h.emulator.subscription(subscription.id);
    const item = subscription.items.data[0];
    assert.ok(item);
    await deliverOk(h, single(subscribed.events(), "customer.subscription.created"));
    await deliverOnly(
      h,
      subscription.id,
      "customer.subscription.updated",
      () => control.cancelAtPeriodEnd(true),
    );
    let billing = await actualBilling(h, user.id);
    assert.equal(billing.subscription_status, "active");
    assert.equal(billing.cancel_at_period_end, true);
    assert.equal(billing.cancel_at, item.current_period_end);
    await assertSynced(h, user.id, subscription.id);

    await deliverOnly(
      h,
      subscription.id,
      "customer.subscription.updated",
      () => control.cancelAtPeriodEnd(false),
    );
    billing = await actualBilling(h, user.id);
    assert.equal(billing.cancel_at_period_end, false);
    assert.equal(billing.cancel_at, null);
  },
);

harnessTest("stripe-webhook applies customer.subscription.updated for cancel_at", async (h) => {
  const subscribed = await subscribe(h);
  const { user, subscription } = subscribed;
  await deliverOk(h, subscribed.completed);
  const at = Math.floor(Date.now() / 1000) + 10 * 24 * 60 * 60;
  await deliverOnly(
    h,
    subscription.id,
    "customer.subscription.updated",
    () => h.emulator.subscription(subscription.id).cancelAt(at),
  );
  const billing = await actualBilling(h, user.id);
  assert.equal(billing.subscription_status, "active");
  assert.equal(billing.cancel_at, at);
  assert.equal(billing.cancel_at_period_end, false);
  await assertSynced(h, user.id, subscription.id);
});

harnessTest(
  "stripe-webhook applies customer.subscription.updated for a price change",
  async (h) => {
    const subscribed = await subscribe(h);
    const { user, subscription } = subscribed;
    await deliverOk(h, subscribed.completed);
    const price = await h.stripe.prices.create({
      currency: "usd",
      unit_amount: 2500,
      recurring: { interval: "month" },
      product_data: { name: "Team" },
    });
    await deliverOnly(
      h,
      subscription.id,
      "customer.subscription.updated",
      () => h.emulator.subscription(subscription.id).changePrice(price.id),
    );
    assert.equal((await actualBilling(h, user.id)).price_id, price.id);
    await assertSynced(h, user.id, subscription.id);
  },
);

harnessTest(
  "stripe-webhook applies customer.subscription.deleted: canceled, customer kept",
  async (h) => {
    const subscribed = await subscribe(h);
    const { user, subscription } = subscribed;
    await deliverOk(h, subscribed.completed);
    await deliverOnly(
      h,
      subscription.id,
      "customer.subscription.deleted",
      () => h.emulator.subscription(subscription.id).cancelNow(),
    );
    const billing = await actualBilling(h, user.id);
    assert.equal(billing.subscription_status, "canceled");
    assert.equal(billing.stripe_customer_id, idOf(subscription.customer));
    assert.equal(billing.stripe_subscription_id, subscription.id);
    await assertSynced(h, user.id, subscription.id);
  },
);

harnessTest(
  "stripe-webhook applies customer.subscription.paused and customer.subscription.resumed",
  async (h) => {
    const subscribed = await subscribe(h);
    const { user, subscription } = subscribed;
    const control = h.emulator.subscription(subscription.id);
    await deliverOk(h, subscribed.completed);
    await deliverOnly(h, subscription.id, "customer.subscription.paused", () => control.pause());
    assert.equal((await actualBilling(h, user.id)).subscription_status, "paused");
    await assertSynced(h, user.id, subscription.id);

    await deliverOnly(h, subscription.id, "customer.subscription.resumed", () => control.resume());
    assert.equal((await actualBilling(h, user.id)).subscription_status, "active");
    await assertSynced(h, user.id, subscription.id);
  },
);

for (
  const type of [
    "customer.subscription.pending_update_applied",
    "customer.subscription.pending_update_expired",
  ] as const
) {
  harnessTest(`stripe-webhook syncs the subscription on ${type}`, async (h) => {
    const subscribed = await subscribe(h);
    const { user, subscription } = subscribed;
    const control = h.emulator.subscription(subscription.id);
    await deliverOk(h, subscribed.completed);
    // A change whose own event is never delivered: only this event can bring it in.
    control.cancelAtPeriodEnd(true);
    assert.equal((await actualBilling(h, user.id)).cancel_at_period_end, false);
    await deliverOnly(h, subscription.id, type, () => {
      if (type === "customer.subscription.pending_update_applied") control.pendingUpdateApplied();
      else control.pendingUpdateExpired();
    });
    assert.equal((await actualBilling(h, user.id)).cancel_at_period_end, true);
    await assertSynced(h, user.id, subscription.id);
  });
}

harnessTest(
  "stripe-webhook applies a trial: trialing with trial_end, synced on trial_will_end, active after",
  async (h) => {
    const subscribed = await subscribe(h, { trialDays: 14 });
    const { user, subscription } = subscribed;
    const control = h.emulator.subscription(subscription.id);
    assert.equal(subscription.status, "trialing");
    assert.ok(subscription.trial_end);
    await deliverOk(h, subscribed.completed);
    let billing = await actualBilling(h, user.id);
    assert.equal(billing.subscription_status, "trialing");
    assert.equal(billing.trial_end, subscription.trial_end);
    assert.equal(billing.current_period_end, subscription.trial_end);
    await assertSynced(h, user.id, subscription.id);

    control.cancelAtPeriodEnd(true);
    await deliverOnly(
      h,
      subscription.id,
      "customer.subscription.trial_will_end",
      () => control.trialWillEnd(),
    );
    assert.equal((await actualBilling(h, user.id)).cancel_at_period_end, true);
    await assertSynced(h, user.id, subscription.id);

    control.cancelAtPeriodEnd(false);
    await deliverOnly(
      h,
      subscription.id,
      "customer.subscription.updated",
      () => control.endTrial(),
    );
    billing = await actualBilling(h, user.id);
    assert.equal(billing.subscription_status, "active");
    assert.equal(billing.cancel_at_period_end, false);
    await assertSynced(h, user.id, subscription.id);
  },
);

harnessTest(
  "stripe-webhook applies invoice.payment_failed as past_due, then invoice.paid as active",
  async (h) => {
    const subscribed = await subscribe(h);
    const { user, subscription } = subscribed;
    const control = h.emulator.subscription(subscription.id);
    const firstEnd = subscription.items.data[0]?.current_period_end;
    await deliverOk(h, subscribed.completed);

    await deliverOnly(
      h,
      subscription.id,
      "invoice.payment_failed",
      () => control.renew({ fail: true }),
    );
    const billing = await actualBilling(h, user.id);
    assert.equal(billing.subscription_status, "past_due");
    assert.ok(firstEnd !== undefined && (billing.current_period_end ?? 0) > firstEnd);
    await assertSynced(h, user.id, subscription.id);

    await deliverOnly(h, subscription.id, "invoice.paid", () => control.payOpenInvoice());
    assert.equal((await actualBilling(h, user.id)).subscription_status, "active");
    await assertSynced(h, user.id, subscription.id);
  },
);

harnessTest("stripe-webhook applies invoice.payment_action_required", async (h) => {
  const subscribed = await subscribe(h);
  const { user, subscription } = subscribed;
  await deliverOk(h, subscribed.completed);
  await deliverOnly(
    h,
    subscription.id,
    "invoice.payment_action_required",
    () => h.emulator.subscription(subscription.id).requireAction(),
  );
  assert.equal((await actualBilling(h, user.id)).subscription_status, "past_due");
  await assertSynced(h, user.id, subscription.id);
});
