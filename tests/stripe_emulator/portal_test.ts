import assert from "node:assert/strict";
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
    assert.deepEqual(buttons(html), [
      "Cancel at period end",
      "Cancel now",
      "Fail next payment",
      "Pay now",
      "Return",
    ]);

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
    }
    ({ html } = await page(url));
    assert.match(html, />canceled</);
    assert.deepEqual(buttons(html), ["Return"]);

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
