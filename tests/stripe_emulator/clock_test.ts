import assert from "node:assert/strict";
import { CATALOG } from "../../dev/stripe/mod.ts";
import {
  buttons,
  checkoutParams,
  control,
  page,
  type Setup,
  Stripe,
  submit,
  subscribed,
  withEmulator,
} from "./support.ts";

const T0 = 1_767_225_600; // 2026-01-01T00:00:00Z
const DAY = 24 * 60 * 60;

/** Events since `start` about one subscription (and its invoices), as `type@seconds after T0`. */
function timeline(running: Setup, start: number, subscriptionId: string): string[] {
  return running.emulator.events().slice(start).filter((event) => {
    const object = event.data.object as { id?: string; parent?: Stripe.Invoice["parent"] };
    return object.id === subscriptionId ||
      object.parent?.subscription_details?.subscription === subscriptionId;
  }).map((event) => `${event.type}@${event.created - T0}`);
}

/** A subscription-mode session for a trial, with the given end behavior and card collection. */
async function trialSession(
  running: Setup,
  options: {
    collection: "always" | "if_required";
    missing: "cancel" | "create_invoice" | "pause";
  },
) {
  const customer = await running.stripe.customers.create({ email: "ada@example.com" });
  const base = checkoutParams(customer.id);
  const session = await running.stripe.checkout.sessions.create({
    ...base,
    payment_method_collection: options.collection,
    subscription_data: {
      ...base.subscription_data,
      trial_period_days: 7,
      trial_settings: { end_behavior: { missing_payment_method: options.missing } },
    },
  });
  return { customer, session };
}

Deno.test("a trial with a card announces its end three days ahead, then bills and turns active", async () => {
  await withEmulator({ now: () => T0 }, async (running) => {
    const start = running.emulator.events().length;
    const { subscription } = await subscribed(running, { trialDays: 7 });
    assert.equal(subscription.status, "trialing");
    assert.equal(subscription.trial_start, T0);
    assert.equal(subscription.trial_end, T0 + 7 * DAY);

    const early = running.emulator.advanceClock(3 * DAY);
    assert.equal(early.now, T0 + 3 * DAY);
    assert.equal(early.events, 0);
    running.emulator.advanceClock(5 * DAY);
    assert.deepEqual(timeline(running, start, subscription.id), [
      "customer.subscription.created@0",
      "invoice.created@0",
      "invoice.finalized@0",
      "invoice.paid@0",
      "invoice.payment_succeeded@0",
      `customer.subscription.trial_will_end@${4 * DAY}`,
      `customer.subscription.updated@${7 * DAY}`,
      `invoice.created@${7 * DAY}`,
      `invoice.finalized@${7 * DAY}`,
      `invoice.paid@${7 * DAY}`,
      `invoice.payment_succeeded@${7 * DAY}`,
    ]);
    const after = await running.stripe.subscriptions.retrieve(subscription.id, {
      expand: ["latest_invoice"],
    });
    assert.equal(after.status, "active");
    assert.equal(after.items.data[0]?.current_period_start, T0 + 7 * DAY);
    const invoice = after.latest_invoice as Stripe.Invoice;
    assert.equal(invoice.amount_paid, 1000);
    assert.equal(invoice.billing_reason, "subscription_cycle");
  });
});

Deno.test("a cardless trial completes on the page without a card and is canceled at its end", async () => {
  await withEmulator({ now: () => T0 }, async (running) => {
    const { stripe, emulator } = running;
    const { customer, session } = await trialSession(running, {
      collection: "if_required",
      missing: "cancel",
    });
    assert.equal(session.payment_method_collection, "if_required");
    assert.equal(session.amount_total, 0);
    const { html } = await page(session.url ?? "");
    assert.deepEqual(buttons(html), ["Start trial"]);
    assert.doesNotMatch(html, /4242/);
    const paid = await submit(session.url ?? "", "pay");
    assert.equal(paid.status, 303);
    await paid.body?.cancel();

    const [subscription] = emulator.subscriptions();
    assert.ok(subscription);
    assert.equal(subscription.status, "trialing");
    assert.equal(subscription.default_payment_method, null);
    assert.equal(subscription.trial_settings?.end_behavior.missing_payment_method, "cancel");
    const completed = await stripe.checkout.sessions.retrieve(session.id);
    assert.equal(completed.payment_status, "no_payment_required");

    emulator.advanceClock(7 * DAY);
    const ended = await stripe.subscriptions.retrieve(subscription.id);
    assert.equal(ended.status, "canceled");
    assert.equal(ended.ended_at, T0 + 7 * DAY);
    assert.equal(ended.cancellation_details?.reason, "cancellation_requested");
    const entitlements = await stripe.entitlements.activeEntitlements.list({
      customer: customer.id,
    });
    assert.deepEqual(entitlements.data, []);
    const types = emulator.events().map((event) => event.type);
    assert.ok(types.includes("customer.subscription.deleted"));
    assert.equal(
      emulator.invoices().filter((invoice) => invoice.billing_reason === "subscription_cycle")
        .length,
      0,
    );
  });
});

Deno.test("a cardless trial ending with create_invoice goes past_due; with pause it pauses without an invoice", async () => {
  await withEmulator({ now: () => T0 }, async (running) => {
    const { emulator, stripe } = running;
    const billed = await trialSession(running, {
      collection: "if_required",
      missing: "create_invoice",
    });
    const invoiced = emulator.completeCheckout(billed.session.id);
    const paused = await trialSession(running, { collection: "if_required", missing: "pause" });
    const held = emulator.completeCheckout(paused.session.id);
    const invoicesBefore = emulator.invoices().length;

    emulator.advanceClock(7 * DAY + 60);
    const pastDue = await stripe.subscriptions.retrieve(invoiced.id, {
      expand: ["latest_invoice"],
    });
    assert.equal(pastDue.status, "past_due");
    assert.equal((pastDue.latest_invoice as Stripe.Invoice).status, "open");
    const pausedNow = await stripe.subscriptions.retrieve(held.id);
    assert.equal(pausedNow.status, "paused");
    assert.equal(
      pausedNow.status_details?.paused.subscription.type,
      "trial_end_without_payment_method",
    );
    assert.equal(emulator.invoices().length, invoicesBefore + 1);
    const pausedTypes = emulator.events()
      .filter((event) => (event.data.object as { id?: string }).id === held.id)
      .map((event) => event.type);
    assert.deepEqual(pausedTypes.slice(-2), [
      "customer.subscription.paused",
      "customer.subscription.updated",
    ]);
  });
});

Deno.test("a trial checkout that collects a card always asks for one", async () => {
  await withEmulator({ now: () => T0 }, async (running) => {
    const { session } = await trialSession(running, { collection: "always", missing: "cancel" });
    const { html } = await page(session.url ?? "");
    assert.deepEqual(buttons(html), ["Pay"]);
    const subscription = running.emulator.completeCheckout(session.id);
    assert.match(String(subscription.default_payment_method), /^pm_/);
    running.emulator.advanceClock(8 * DAY);
    assert.equal((await running.stripe.subscriptions.retrieve(subscription.id)).status, "active");
  });
});

Deno.test("renewals happen at each period end in order, and a cancel at period end ends it there", async () => {
  await withEmulator({ now: () => T0 }, async (running) => {
    const { emulator, stripe } = running;
    const { subscription } = await subscribed(running);
    const leaving = await subscribed(running, { price: CATALOG.prices.basicMonthly });
    emulator.subscription(leaving.subscription.id).cancelAtPeriodEnd(true);
    const start = emulator.events().length;
    emulator.advanceClock(65 * DAY);

    const invoices = (await stripe.invoices.list({ subscription: subscription.id })).data;
    assert.deepEqual(invoices.map((invoice) => invoice.billing_reason), [
      "subscription_cycle",
      "subscription_cycle",
      "subscription_create",
    ]);
    const renewed = await stripe.subscriptions.retrieve(subscription.id);
    // January 1 + 1 month + 1 month: March 1, in UTC calendar months.
    assert.equal(renewed.items.data[0]?.current_period_start, Date.UTC(2026, 2, 1) / 1000);
    assert.equal(renewed.items.data[0]?.current_period_end, Date.UTC(2026, 3, 1) / 1000);
    const created = emulator.events().slice(start).map((event) => event.created);
    assert.deepEqual(created, [...created].sort((a, b) => a - b));

    const ended = await stripe.subscriptions.retrieve(leaving.subscription.id);
    assert.equal(ended.status, "canceled");
    assert.equal(ended.ended_at, Date.UTC(2026, 1, 1) / 1000);
    assert.deepEqual(timeline(running, start, leaving.subscription.id), [
      `customer.subscription.deleted@${Date.UTC(2026, 1, 1) / 1000 - T0}`,
    ]);
  });
});

Deno.test("an open checkout session expires after 24 hours of clock", async () => {
  await withEmulator({ now: () => T0 }, async (running) => {
    const customer = await running.stripe.customers.create({});
    const session = await running.stripe.checkout.sessions.create(checkoutParams(customer.id));
    running.emulator.advanceClock(DAY - 1);
    assert.equal((await running.stripe.checkout.sessions.retrieve(session.id)).status, "open");
    running.emulator.advanceClock(1);
    const expired = await running.stripe.checkout.sessions.retrieve(session.id);
    assert.equal(expired.status, "expired");
    assert.equal(running.emulator.events().at(-1)?.type, "checkout.session.expired");
  });
});

Deno.test("the clock advances through its control route and never goes back", async () => {
  await withEmulator({ now: () => T0 }, async (running) => {
    const advanced = await control(running, "POST", "clock/advance", { seconds: DAY });
    assert.equal(advanced.status, 200);
    assert.deepEqual(advanced.body, { now: T0 + DAY, events: 0 });
    assert.deepEqual((await control(running, "GET", "clock")).body, { now: T0 + DAY });
    const back = await control(running, "POST", "clock/advance", { seconds: -5 });
    assert.equal(back.status, 400);
    assert.equal(running.emulator.now(), T0 + DAY);
    // Objects made after an advance carry the account's time.
    const customer = await running.stripe.customers.create({});
    assert.equal(customer.created, T0 + DAY);
  });
});
