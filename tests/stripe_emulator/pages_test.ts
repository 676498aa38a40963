import assert from "node:assert/strict";
import { buttons, checkoutParams, page, setup, submit, withEmulator } from "./support.ts";

Deno.test("the checkout page shows the price, the email, Pay and Back", async () => {
  await withEmulator({}, async ({ stripe }) => {
    const customer = await stripe.customers.create({ email: "ada@example.com" });
    const session = await stripe.checkout.sessions.create(checkoutParams(customer.id));
    const response = await fetch(session.url ?? "");
    assert.equal(response.status, 200);
    assert.equal(response.headers.get("content-type"), "text/html; charset=utf-8");
    assert.equal(response.headers.get("referrer-policy"), "no-referrer");
    const html = await response.text();
    assert.match(html, /Pro — \$10\.00 \/ month/);
    assert.match(html, /ada@example\.com/);
    assert.deepEqual(buttons(html), ["Pay"]);
    assert.match(
      html,
      /<a class="button" href="http:\/\/localhost:3000\/dashboard\?canceled=true">Back<\/a>/,
    );
    assert.doesNotMatch(html, /<script|<link|src=/);
  });
});

Deno.test("paying on the checkout page redirects to the success URL and subscribes", async () => {
  const { stripe, emulator, close } = await setup();
  try {
    const customer = await stripe.customers.create({ email: "ada@example.com" });
    const session = await stripe.checkout.sessions.create(checkoutParams(customer.id));
    const response = await submit(session.url ?? "", "pay");
    assert.equal(response.status, 303);
    assert.equal(
      response.headers.get("location"),
      `http://localhost:3000/dashboard?session_id=${session.id}`,
    );
    await response.body?.cancel();
    const [subscription] = emulator.subscriptions();
    assert.equal(subscription?.status, "active");
    assert.equal(subscription?.customer, customer.id);
    assert.equal(emulator.events().at(-1)?.type, "checkout.session.completed");

    const again = await page(session.url ?? "");
    assert.match(again.html, /This checkout is complete/);
    assert.deepEqual(buttons(again.html), []);
  } finally {
    await close();
  }
});

Deno.test("an expired checkout page says so and offers Back", async () => {
  await withEmulator({}, async ({ stripe, emulator }) => {
    const customer = await stripe.customers.create({});
    const session = await stripe.checkout.sessions.create(checkoutParams(customer.id));
    emulator.expireCheckout(session.id);
    const { html } = await page(session.url ?? "");
    assert.match(html, /expired/);
    assert.match(html, />Back<\/a>/);
    const paid = await submit(session.url ?? "", "pay");
    assert.equal(paid.status, 200);
    await paid.body?.cancel();
    assert.equal(emulator.subscriptions().length, 0);
  });
});

Deno.test("pages escape what they show", async () => {
  await withEmulator({}, async ({ stripe }) => {
    const price = await stripe.prices.create({
      currency: "usd",
      unit_amount: 700,
      recurring: { interval: "month" },
      product_data: { name: "<img src=x onerror=alert(1)>" },
    });
    const customer = await stripe.customers.create({ email: "ada@example.com" });
    const session = await stripe.checkout.sessions.create(
      checkoutParams(customer.id, "user-1", price.id),
    );
    const { html } = await page(session.url ?? "");
    assert.doesNotMatch(html, /<img/);
    assert.match(html, /&lt;img src=x onerror=alert\(1\)&gt;/);
  });
});

Deno.test("an unknown page answers 404 and a page refuses methods other than GET and POST", async () => {
  await withEmulator({}, async ({ url }) => {
    const missing = await page(`${url}/c/pay/cs_test_missing`);
    assert.equal(missing.status, 404);
    const put = await fetch(`${url}/c/pay/cs_test_missing`, { method: "PUT" });
    assert.equal(put.status, 405);
    await put.body?.cancel();
  });
});
