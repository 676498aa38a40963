import assert from "node:assert/strict";
import { subscribed, typesSince, withEmulator } from "./support.ts";
import type { Stripe } from "./support.ts";

/** Event types since `start`, without the entitlement summaries that follow some of them. */
function billingTypesSince(running: Parameters<typeof typesSince>[0], start: number): string[] {
  return typesSince(running, start).filter((type) => !type.startsWith("entitlements."));
}

Deno.test("API subscription updates emit customer.subscription.updated with previous attributes", async () => {
  await withEmulator({}, async (running) => {
    const { stripe, emulator } = running;
    const { subscription } = await subscribed(running);
    const periodEnd = subscription.items.data[0]?.current_period_end;
    const updated = await stripe.subscriptions.update(subscription.id, {
      cancel_at_period_end: true,
      metadata: { note: "bye" },
    });
    assert.equal(updated.cancel_at_period_end, true);
    assert.equal(updated.cancel_at, periodEnd);
    assert.deepEqual(updated.metadata, { userId: "user-1", note: "bye" });
    const event = emulator.events().at(-1);
    assert.equal(event?.type, "customer.subscription.updated");
    assert.equal(event?.request?.id, updated.lastResponse.requestId);
    assert.deepEqual(
      (event?.data.previous_attributes as Record<string, unknown>).cancel_at_period_end,
      false,
    );

    const canceled = await stripe.subscriptions.cancel(subscription.id);
    assert.equal(canceled.status, "canceled");
    assert.ok(canceled.ended_at !== null);
    assert.ok(
      emulator.events().some((e) =>
        e.type === "customer.subscription.deleted" &&
        (e.data.object as Stripe.Subscription).id === subscription.id
      ),
    );
  });
});

Deno.test("each control action sets the status and emits Stripe's events", async () => {
  await withEmulator({}, async (running) => {
    const { stripe, emulator } = running;
    const { subscription } = await subscribed(running);
    const control = emulator.subscription(subscription.id);
    let start = emulator.events().length;
    const next = () => {
      const types = billingTypesSince(running, start);
      start = emulator.events().length;
      return types;
    };

    assert.equal(control.cancelAtPeriodEnd(true).cancel_at_period_end, true);
    assert.deepEqual(next(), ["customer.subscription.updated"]);
    assert.equal(control.cancelAtPeriodEnd(false).cancel_at_period_end, false);
    assert.deepEqual(next(), ["customer.subscription.updated"]);
    assert.equal(control.cancelAt(4_000_000_000).cancel_at, 4_000_000_000);
    assert.deepEqual(next(), ["customer.subscription.updated"]);
    assert.equal(control.cancelAt(null).cancel_at, null);
    assert.deepEqual(next(), ["customer.subscription.updated"]);

    const before = subscription.items.data[0]?.current_period_end;
    const renewed = control.renew();
    assert.equal(renewed.status, "active");
    assert.equal(renewed.items.data[0]?.current_period_start, before);
    assert.deepEqual(next(), [
      "customer.subscription.updated",
      "invoice.created",
      "invoice.finalized",
      "invoice.paid",
      "invoice.payment_succeeded",
    ]);

    control.failNextPayment();
    assert.equal(control.renew().status, "past_due");
    assert.deepEqual(next(), [
      "customer.subscription.updated",
      "invoice.created",
      "invoice.finalized",
      "invoice.payment_failed",
      "customer.subscription.updated",
    ]);
    const failedInvoice = emulator.invoices().at(-1);
    assert.equal(failedInvoice?.status, "open");

    assert.equal(control.requireAction().status, "past_due");
    assert.deepEqual(next(), ["invoice.payment_action_required"]);

    assert.equal(control.payOpenInvoice().status, "active");
    assert.deepEqual(next(), [
      "invoice.paid",
      "invoice.payment_succeeded",
      "customer.subscription.updated",
    ]);

    assert.equal(control.pause().status, "paused");
    assert.deepEqual(next(), ["customer.subscription.paused", "customer.subscription.updated"]);
    assert.equal(control.resume().status, "active");
    assert.deepEqual(next(), ["customer.subscription.resumed", "customer.subscription.updated"]);

    const yearly = await stripe.prices.create({
      currency: "usd",
      unit_amount: 12000,
      recurring: { interval: "year" },
      product: "prod_local_pro",
    });
    next();
    const changed = control.changePrice(yearly.id);
    assert.equal(changed.items.data[0]?.price.id, yearly.id);
    assert.deepEqual(next(), ["customer.subscription.updated"]);

    control.pendingUpdateApplied();
    assert.deepEqual(next(), ["customer.subscription.pending_update_applied"]);
    control.pendingUpdateExpired();
    assert.deepEqual(next(), ["customer.subscription.pending_update_expired"]);

    const canceled = control.cancelNow();
    assert.equal(canceled.status, "canceled");
    assert.ok(canceled.ended_at !== null);
    assert.deepEqual(next(), ["customer.subscription.deleted"]);
  });
});

Deno.test("trial control actions end the trial and announce its end", async () => {
  await withEmulator({}, async (running) => {
    const { subscription } = await subscribed(running, { trialDays: 7 });
    const control = running.emulator.subscription(subscription.id);
    let start = running.emulator.events().length;
    control.trialWillEnd();
    assert.deepEqual(billingTypesSince(running, start), ["customer.subscription.trial_will_end"]);
    start = running.emulator.events().length;
    const active = control.endTrial();
    assert.equal(active.status, "active");
    assert.deepEqual(billingTypesSince(running, start), [
      "customer.subscription.updated",
      "invoice.created",
      "invoice.finalized",
      "invoice.paid",
      "invoice.payment_succeeded",
    ]);
  });
});

Deno.test("renewing a subscription set to cancel at period end cancels it", async () => {
  await withEmulator({}, async (running) => {
    const { subscription } = await subscribed(running);
    const control = running.emulator.subscription(subscription.id);
    control.cancelAtPeriodEnd(true);
    const ended = control.renew();
    assert.equal(ended.status, "canceled");
    assert.deepEqual(
      running.emulator.events().map((event) => event.type).filter((type) =>
        !type.startsWith("entitlements.")
      ).at(-1),
      "customer.subscription.deleted",
    );
  });
});
