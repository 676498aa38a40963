/**
 * Which profile an event reaches: the user is found from the session's client_reference_id, the
 * subscription's metadata or the stored customer; an event of no known user, of a type the
 * webhook does not handle, or without a subscription is acknowledged and changes no profile.
 */
import assert from "node:assert/strict";
import { DEFAULT_PRICE_ID } from "../dev/stripe/mod.ts";
import { actualBilling, assertSynced, ledgerCount } from "./_support/billing.ts";
import { eventsAbout, single, syntheticEvent } from "./_support/emulator.ts";
import { harnessTest, SITE_URL } from "./_support/harness.ts";
import { deliverAll, deliverOk, eventOutcomes } from "./_support/webhook.ts";

harnessTest(
  "stripe-webhook finds the user from subscription metadata when customer.subscription.created comes first",
  async (h) => {
    const user = await h.createUser();
    // A customer the profile does not know yet: only metadata.userId leads to the user.
    const customer = await h.stripe.customers.create({ email: user.email });
    const session = await h.stripe.checkout.sessions.create({
      mode: "subscription",
      customer: customer.id,
      line_items: [{ price: DEFAULT_PRICE_ID, quantity: 1 }],
      success_url: `${SITE_URL}/dashboard?session_id={CHECKOUT_SESSION_ID}`,
      subscription_data: { metadata: { userId: user.id } },
    });
    const mark = h.emulator.events().length;
    const subscription = h.emulator.completeCheckout(session.id);
    assert.equal((await h.profile(user.id)).stripe_customer_id, null);

    await deliverOk(
      h,
      single(eventsAbout(h, mark, [subscription.id]), "customer.subscription.created"),
    );
    const billing = await actualBilling(h, user.id);
    assert.equal(billing.stripe_customer_id, customer.id);
    assert.equal(billing.stripe_subscription_id, subscription.id);
    assert.equal(billing.subscription_status, "active");
    await assertSynced(h, user.id, subscription.id);
  },
);

harnessTest(
  "stripe-webhook finds the user of checkout.session.completed from client_reference_id alone",
  async (h) => {
    const user = await h.createUser();
    // No metadata anywhere and a customer no profile holds: client_reference_id is the only lead.
    const customer = await h.stripe.customers.create({ email: user.email });
    const session = await h.stripe.checkout.sessions.create({
      mode: "subscription",
      customer: customer.id,
      client_reference_id: user.id,
      line_items: [{ price: DEFAULT_PRICE_ID, quantity: 1 }],
      success_url: `${SITE_URL}/dashboard?session_id={CHECKOUT_SESSION_ID}`,
    });
    const mark = h.emulator.events().length;
    const subscription = h.emulator.completeCheckout(session.id);
    assert.deepEqual(subscription.metadata, {});

    const events = eventsAbout(h, mark, [session.id, subscription.id]);
    await deliverOk(h, single(events, "checkout.session.completed"));
    const billing = await actualBilling(h, user.id);
    assert.equal(billing.stripe_customer_id, customer.id);
    assert.equal(billing.stripe_subscription_id, subscription.id);
    await assertSynced(h, user.id, subscription.id);

    // Later events of that subscription find the user by the customer now stored.
    h.emulator.subscription(subscription.id).cancelAtPeriodEnd(true);
    await deliverAll(h, eventsAbout(h, mark, [subscription.id]));
    assert.equal((await actualBilling(h, user.id)).cancel_at_period_end, true);
    await assertSynced(h, user.id, subscription.id);
  },
);

harnessTest(
  "stripe-webhook answers 200 to event types it does not handle and records nothing",
  async (h) => {
    const mark = h.emulator.events().length;
    const customer = await h.stripe.customers.create({ email: "unhandled@example.com" });
    const created = single(eventsAbout(h, mark, [customer.id]), "customer.created");
    const paymentIntent = syntheticEvent("payment_intent.succeeded", {
      id: "pi_test_unhandled",
      object: "payment_intent",
      amount: 1000,
      currency: "usd",
      status: "succeeded",
    });
    for (const event of [created, paymentIntent]) {
      await deliverOk(h, event);
      const id = String(event.id);
      assert.equal(await ledgerCount(h, id), 0);
      assert.deepEqual(eventOutcomes(h, id), ["unhandled"]);
    }
  },
);

harnessTest(
  "stripe-webhook answers 200 to a handled type without a subscription and changes no profile",
  async (h) => {
    const user = await h.createUser();
    const before = await h.profile(user.id);
    const paymentSession = syntheticEvent("checkout.session.completed", {
      id: `cs_test_a1${crypto.randomUUID().replaceAll("-", "")}`,
      object: "checkout.session",
      mode: "payment",
      status: "complete",
      payment_status: "paid",
      customer: null,
      subscription: null,
      client_reference_id: user.id,
      metadata: { userId: user.id },
    });
    const looseInvoice = syntheticEvent("invoice.paid", {
      id: `in_test_${crypto.randomUUID().replaceAll("-", "")}`,
      object: "invoice",
      status: "paid",
      customer: "cus_test_loose",
      parent: null,
    });
    for (const event of [paymentSession, looseInvoice]) {
      await deliverOk(h, event);
      assert.equal(await ledgerCount(h, String(event.id)), 0);
    }
    assert.deepEqual(await h.profile(user.id), before);
  },
);

harnessTest(
  "stripe-webhook answers 200 to an event for a user it does not know and logs it as unmatched",
  async (h) => {
    const customer = await h.stripe.customers.create({ email: "stranger@example.com" });
    const session = await h.stripe.checkout.sessions.create({
      mode: "subscription",
      customer: customer.id,
      line_items: [{ price: DEFAULT_PRICE_ID, quantity: 1 }],
      success_url: `${SITE_URL}/dashboard?session_id={CHECKOUT_SESSION_ID}`,
      subscription_data: { metadata: { userId: crypto.randomUUID() } },
    });
    const mark = h.emulator.events().length;
    const subscription = h.emulator.completeCheckout(session.id);
    const events = eventsAbout(h, mark, [session.id, subscription.id]).filter((event) =>
      event.type === "checkout.session.completed" ||
      event.type === "customer.subscription.created"
    );
    assert.equal(events.length, 2);
    await deliverAll(h, events);
    for (const event of events) {
      assert.deepEqual(eventOutcomes(h, event.id), ["unmatched"]);
    }
    const [row] = await h.sql<{ n: number }[]>`
      select count(*)::int as n from public.profiles
      where stripe_customer_id = ${customer.id} or stripe_subscription_id = ${subscription.id}`;
    assert.equal(row?.n, 0);
  },
);
