import assert from "node:assert/strict";
import { CATALOG, PORTAL_CONFIGURATION_ID } from "../../dev/stripe/mod.ts";
import type { Stripe } from "./support.ts";
import {
  buttons,
  page,
  rejects,
  Stripe as StripeClass,
  submit,
  subscribed,
  withEmulator,
} from "./support.ts";

Deno.test("a billing portal session points at the local portal page", async () => {
  await withEmulator({}, async ({ stripe, url }) => {
    const customer = await stripe.customers.create({ email: "ada@example.com" });
    const portal = await stripe.billingPortal.sessions.create({
      customer: customer.id,
      return_url: "http://localhost:3000/dashboard",
    });
    assert.equal(portal.object, "billing_portal.session");
    assert.equal(portal.customer, customer.id);
    assert.equal(portal.return_url, "http://localhost:3000/dashboard");
    assert.equal(portal.url, `${url}/p/session/${portal.id}`);

    const missing = await rejects(
      stripe.billingPortal.sessions.create({ customer: "cus_missing" }),
      StripeClass.errors.StripeInvalidRequestError,
    );
    assert.equal(missing.param, "customer");
  });
});

Deno.test("the portal page shows the subscription and its buttons act on it", async () => {
  await withEmulator({}, async (running) => {
    const { stripe, emulator } = running;
    const { customer, subscription } = await subscribed(running);
    const portal = await stripe.billingPortal.sessions.create({
      customer: customer.id,
      return_url: "http://localhost:3000/dashboard",
    });
    const url = portal.url;
    let { html } = await page(url);
    assert.match(html, /Pro — \$10\.00 \/ month/);
    assert.match(html, />active</);
    // Nothing is due on a paid subscription: no "Pay now", and the renewal says what it does.
    assert.deepEqual(buttons(html), [
      "Cancel at period end",
      "Cancel now",
      "Fail next payment",
      "Renew now (test)",
      "Return",
    ]);
    assert.doesNotMatch(html, /class="primary"/);
    assert.match(html, /“Renew now \(test\)” ends the period now/);
    assert.doesNotMatch(html, /Pay now/);

    const steps: [string, (sub: Stripe.Subscription) => void][] = [
      ["cancel-at-period-end", (sub) => assert.equal(sub.cancel_at_period_end, true)],
      ["dont-cancel", (sub) => assert.equal(sub.cancel_at_period_end, false)],
      ["fail-next-payment", (sub) => assert.equal(sub.status, "past_due")],
      ["pay-now", (sub) => assert.equal(sub.status, "active")],
      ["cancel-now", (sub) => assert.equal(sub.status, "canceled")],
    ];
    for (const [action, check] of steps) {
      const response = await submit(url, action);
      assert.equal(response.status, 303, action);
      assert.equal(response.headers.get("location"), new URL(url).pathname);
      await response.body?.cancel();
      check(await stripe.subscriptions.retrieve(subscription.id));
      if (action === "cancel-at-period-end") {
        ({ html } = await page(url));
        assert.equal(buttons(html)[0], "Don't cancel");
        assert.match(html, /Cancels on/);
      }
      if (action === "fail-next-payment") {
        // Now something is due: "Pay now" is the primary action, and the amount shows.
        ({ html } = await page(url));
        assert.deepEqual(buttons(html).slice(2, 4), ["Fail next payment", "Pay now"]);
        assert.match(html, /class="primary">Pay now</);
        assert.match(html, /<dt>Amount due<\/dt><dd>\$10\.00<\/dd>/);
        assert.match(html, /“Pay now” pays what is due/);
      }
    }
    // Canceled: when it ended, and no period, renewal or footnote about buttons that are gone.
    ({ html } = await page(url));
    assert.match(html, />canceled</);
    assert.deepEqual(buttons(html), ["Return"]);
    assert.match(html, /<dt>Canceled on<\/dt><dd>[A-Z][a-z]+ \d{1,2}, \d{4}<\/dd>/);
    assert.doesNotMatch(html, /Current period ends|Renews automatically|class="note">“/);

    const back = await submit(url, "return");
    assert.equal(back.status, 303);
    assert.equal(back.headers.get("location"), "http://localhost:3000/dashboard");
    await back.body?.cancel();
    assert.ok(emulator.events().some((event) => event.type === "invoice.payment_failed"));
  });
});

Deno.test("the portal page of a customer without a subscription says so and offers Return", async () => {
  await withEmulator({}, async ({ stripe }) => {
    const customer = await stripe.customers.create({ email: "ada@example.com" });
    const portal = await stripe.billingPortal.sessions.create({
      customer: customer.id,
      return_url: "http://localhost:3000/dashboard",
    });
    const response = await page(portal.url);
    assert.equal(response.status, 200);
    assert.match(response.html, /You have no subscription/);
    assert.deepEqual(buttons(response.html), ["Return"]);
  });
});

/** A portal session deep-linked into a flow that redirects to the app when done. */
function flowSession(
  stripe: Stripe,
  customer: string,
  flow: Stripe.BillingPortal.SessionCreateParams.FlowData,
) {
  return stripe.billingPortal.sessions.create({
    customer,
    return_url: "http://localhost:3000/dashboard",
    flow_data: {
      after_completion: {
        type: "redirect",
        redirect: { return_url: "http://localhost:3000/dashboard?flow=done" },
      },
      ...flow,
    },
  });
}

Deno.test("flow_data deep-links the portal and is reflected on the session", async () => {
  await withEmulator({}, async (running) => {
    const { customer, subscription } = await subscribed(running);
    const portal = await flowSession(running.stripe, customer.id, {
      type: "subscription_cancel",
      subscription_cancel: { subscription: subscription.id },
    });
    assert.equal(portal.flow?.type, "subscription_cancel");
    assert.equal(portal.flow?.subscription_cancel?.subscription, subscription.id);
    assert.deepEqual(portal.flow?.after_completion, {
      hosted_confirmation: null,
      redirect: { return_url: "http://localhost:3000/dashboard?flow=done" },
      type: "redirect",
    });
    assert.equal(portal.configuration, PORTAL_CONFIGURATION_ID);
    const home = await running.stripe.billingPortal.sessions.create({ customer: customer.id });
    assert.equal(home.flow, null);
  });
});

Deno.test("flow_data is refused as Stripe refuses it", async () => {
  await withEmulator({}, async (running) => {
    const { stripe } = running;
    const { customer, subscription } = await subscribed(running);
    const other = await subscribed(running);

    const unknown = await rejects(
      flowSession(stripe, customer.id, { type: "explode" as "subscription_cancel" }),
      StripeClass.errors.StripeInvalidRequestError,
    );
    assert.equal(unknown.param, "flow_data[type]");
    assert.match(unknown.message, /^Invalid flow_data\[type\]: must be one of /);

    const missing = await rejects(
      flowSession(stripe, customer.id, { type: "subscription_update" }),
      StripeClass.errors.StripeInvalidRequestError,
    );
    assert.equal(missing.code, "parameter_missing");
    assert.equal(missing.param, "flow_data[subscription_update]");

    const foreign = await rejects(
      flowSession(stripe, customer.id, {
        type: "subscription_update",
        subscription_update: { subscription: other.subscription.id },
      }),
      StripeClass.errors.StripeInvalidRequestError,
    );
    assert.equal(foreign.param, "flow_data[subscription_update][subscription]");
    assert.match(foreign.message, /does not belong to the customer/);

    const noRedirect = await rejects(
      stripe.billingPortal.sessions.create({
        customer: customer.id,
        flow_data: { type: "payment_method_update", after_completion: { type: "redirect" } },
      }),
      StripeClass.errors.StripeInvalidRequestError,
    );
    assert.equal(noRedirect.param, "flow_data[after_completion][redirect]");

    await stripe.subscriptions.update(subscription.id, { cancel_at_period_end: true });
    const already = await rejects(
      flowSession(stripe, customer.id, {
        type: "subscription_cancel",
        subscription_cancel: { subscription: subscription.id },
      }),
      StripeClass.errors.StripeInvalidRequestError,
    );
    assert.equal(already.message, "This subscription is already set to be canceled");

    await stripe.subscriptions.cancel(subscription.id);
    const canceled = await rejects(
      flowSession(stripe, customer.id, {
        type: "subscription_update",
        subscription_update: { subscription: subscription.id },
      }),
      StripeClass.errors.StripeInvalidRequestError,
    );
    assert.match(canceled.message, /has already been canceled/);
  });
});

Deno.test("the payment method flow saves a card, emits Stripe's events and redirects", async () => {
  await withEmulator({}, async (running) => {
    const { stripe, emulator } = running;
    const { customer, subscription } = await subscribed(running);
    const portal = await flowSession(stripe, customer.id, { type: "payment_method_update" });
    const { html } = await page(portal.url);
    assert.deepEqual(buttons(html), ["Save card"]);
    const start = emulator.events().length;
    const saved = await submit(portal.url, "save-payment-method");
    assert.equal(saved.status, 303);
    assert.equal(saved.headers.get("location"), "http://localhost:3000/dashboard?flow=done");
    await saved.body?.cancel();
    assert.deepEqual(emulator.events().slice(start).map((event) => event.type), [
      "customer.updated",
      "customer.subscription.updated",
    ]);
    const updated = await stripe.customers.retrieve(customer.id) as Stripe.Customer;
    const method = updated.invoice_settings.default_payment_method;
    assert.match(String(method), /^pm_/);
    assert.equal(
      (await stripe.subscriptions.retrieve(subscription.id)).default_payment_method,
      method,
    );
  });
});

Deno.test("the cancel flow cancels at the period's end and redirects", async () => {
  await withEmulator({}, async (running) => {
    const { stripe } = running;
    const { customer, subscription } = await subscribed(running);
    const portal = await flowSession(stripe, customer.id, {
      type: "subscription_cancel",
      subscription_cancel: { subscription: subscription.id },
    });
    const { html } = await page(portal.url);
    assert.deepEqual(buttons(html), ["Cancel subscription"]);
    const done = await submit(portal.url, "confirm-cancel");
    assert.equal(done.status, 303);
    assert.equal(done.headers.get("location"), "http://localhost:3000/dashboard?flow=done");
    await done.body?.cancel();
    const after = await stripe.subscriptions.retrieve(subscription.id);
    assert.equal(after.cancel_at_period_end, true);
    assert.equal(after.status, "active");
  });
});

Deno.test("the plan change flow offers the catalog's recurring prices and switches plan", async () => {
  await withEmulator({}, async (running) => {
    const { stripe, emulator } = running;
    const { customer, subscription } = await subscribed(running);
    const portal = await flowSession(stripe, customer.id, {
      type: "subscription_update",
      subscription_update: { subscription: subscription.id },
    });
    const { html } = await page(portal.url);
    assert.deepEqual(buttons(html), [
      "Switch to Basic — $5.00 / month",
      "Switch to Basic — $50.00 / year",
      "Switch to Pro — $100.00 / year",
    ]);
    assert.match(html, /Current plan: Pro — \$10\.00 \/ month/);
    const start = emulator.events().length;
    const done = await submit(portal.url, { price: CATALOG.prices.basicMonthly });
    assert.equal(done.status, 303);
    await done.body?.cancel();
    assert.deepEqual(emulator.events().slice(start).map((event) => event.type), [
      "customer.subscription.updated",
      "entitlements.active_entitlement_summary.updated",
    ]);
    const after = await stripe.subscriptions.retrieve(subscription.id);
    assert.equal(after.items.data[0]?.price.id, CATALOG.prices.basicMonthly);
    const wrong = await submit(portal.url, { price: "price_nope" });
    assert.equal(wrong.status, 400);
    await wrong.body?.cancel();
  });
});

Deno.test("the portal home links to the flows, which come back to it", async () => {
  await withEmulator({}, async (running) => {
    const { stripe } = running;
    const { customer } = await subscribed(running);
    const portal = await stripe.billingPortal.sessions.create({ customer: customer.id });
    const { html } = await page(portal.url);
    assert.match(html, /href="\/p\/session\/[^"]+\/subscription_update">Change plan</);
    assert.match(html, /href="\/p\/session\/[^"]+\/payment_method_update">Update payment method</);
    const flowUrl = `${portal.url}/payment_method_update`;
    const done = await submit(flowUrl, "save-payment-method");
    assert.equal(done.status, 303);
    assert.equal(done.headers.get("location"), new URL(portal.url).pathname);
    await done.body?.cancel();
    assert.equal((await page(`${portal.url}/unknown_flow`)).status, 404);
  });
});
