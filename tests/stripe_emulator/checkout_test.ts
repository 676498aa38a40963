import assert from "node:assert/strict";
import { CATALOG, DEFAULT_PRICE_ID, TEST_ADDRESS } from "../../dev/stripe/mod.ts";
import {
  checkoutParams,
  page,
  rejects,
  setup,
  Stripe,
  submit,
  subscribed,
  typesSince,
  withEmulator,
} from "./support.ts";

Deno.test("a checkout session records every parameter the project sends", async () => {
  const { stripe, emulator, url, close } = await setup();
  try {
    const customer = await stripe.customers.create({ email: "ada@example.com" });
    const session = await stripe.checkout.sessions.create(checkoutParams(customer.id), {
      idempotencyKey: "checkout-user-1",
    });
    assert.match(session.id, /^cs_test_/);
    assert.equal(session.object, "checkout.session");
    assert.equal(session.status, "open");
    assert.equal(session.payment_status, "unpaid");
    assert.equal(session.mode, "subscription");
    assert.equal(session.url, `${url}/c/pay/${session.id}`);
    assert.equal(session.customer, customer.id);
    assert.equal(session.client_reference_id, "user-1");
    assert.deepEqual(session.metadata, { userId: "user-1", email: "ada@example.com" });
    assert.deepEqual(session.allowed_payment_method_types, ["card"]);
    assert.equal(session.amount_total, 1000);
    assert.equal(session.currency, "usd");
    assert.equal(session.subscription, null);

    const retrieved = await stripe.checkout.sessions.retrieve(session.id);
    assert.deepEqual({ ...retrieved }, { ...session });

    const sent = emulator.requests().find((request) => request.path === "/v1/checkout/sessions");
    assert.ok(sent);
    assert.equal(sent.method, "POST");
    assert.equal(sent.idempotencyKey, "checkout-user-1");
    assert.deepEqual(sent.params, {
      mode: "subscription",
      allowed_payment_method_types: ["card"],
      line_items: [{ price: DEFAULT_PRICE_ID, quantity: "1" }],
      customer: customer.id,
      client_reference_id: "user-1",
      metadata: { userId: "user-1", email: "ada@example.com" },
      subscription_data: { metadata: { userId: "user-1" } },
      success_url: "http://localhost:3000/dashboard?session_id={CHECKOUT_SESSION_ID}",
      cancel_url: "http://localhost:3000/dashboard?canceled=true",
    });
  } finally {
    await close();
  }
});

Deno.test("checkout rejects bad parameters the way Stripe does", async () => {
  const { stripe, close } = await setup();
  try {
    const customer = await stripe.customers.create({ email: "ada@example.com" });
    const base = checkoutParams(customer.id);

    const missingMode = await rejects(
      stripe.checkout.sessions.create({ ...base, mode: undefined }),
      Stripe.errors.StripeInvalidRequestError,
    );
    assert.equal(missingMode.code, "parameter_missing");
    assert.equal(missingMode.param, "mode");

    const badMode = await rejects(
      stripe.checkout.sessions.create({ ...base, mode: "rent" as "payment" }),
      Stripe.errors.StripeInvalidRequestError,
    );
    assert.equal(badMode.param, "mode");
    assert.equal(badMode.message, "Invalid mode: must be one of payment, setup, or subscription");

    const zero = await rejects(
      stripe.checkout.sessions.create({
        ...base,
        line_items: [{ price: DEFAULT_PRICE_ID, quantity: 0 }],
      }),
      Stripe.errors.StripeInvalidRequestError,
    );
    assert.equal(zero.param, "line_items[0][quantity]");

    const noPrice = await rejects(
      stripe.checkout.sessions.create({
        ...base,
        line_items: [{ price: "price_nope", quantity: 1 }],
      }),
      Stripe.errors.StripeInvalidRequestError,
    );
    assert.equal(noPrice.statusCode, 400);
    assert.equal(noPrice.code, "resource_missing");
    assert.equal(noPrice.param, "line_items[0][price]");

    const noSuccessUrl = await rejects(
      stripe.checkout.sessions.create({ ...base, success_url: undefined }),
      Stripe.errors.StripeInvalidRequestError,
    );
    assert.equal(noSuccessUrl.code, "parameter_missing");
    assert.equal(noSuccessUrl.param, "success_url");

    const oldParam = await rejects(
      stripe.checkout.sessions.create({
        ...base,
        allowed_payment_method_types: undefined,
        payment_method_types: ["card"],
      } as Stripe.Checkout.SessionCreateParams),
      Stripe.errors.StripeInvalidRequestError,
    );
    assert.equal(oldParam.code, "parameter_unknown");
    assert.equal(oldParam.param, "payment_method_types");

    const empty = await rejects(
      stripe.checkout.sessions.create({ ...base, customer: "" }),
      Stripe.errors.StripeInvalidRequestError,
    );
    assert.equal(empty.code, "parameter_invalid_empty");

    const badEmail = await rejects(
      stripe.checkout.sessions.create({ ...base, customer: undefined, customer_email: "ada" }),
      Stripe.errors.StripeInvalidRequestError,
    );
    assert.equal(badEmail.code, "email_invalid");
    assert.equal(badEmail.param, "customer_email");

    const longKey = await rejects(
      stripe.checkout.sessions.create({
        ...base,
        subscription_data: { metadata: { ["k".repeat(41)]: "v" } },
      }),
      Stripe.errors.StripeInvalidRequestError,
    );
    assert.equal(longKey.param, "subscription_data[metadata]");

    await stripe.customers.del(customer.id);
    const deleted = await rejects(
      stripe.checkout.sessions.create(base),
      Stripe.errors.StripeInvalidRequestError,
    );
    assert.equal(deleted.statusCode, 400);
    assert.equal(deleted.code, "resource_missing");
    assert.equal(deleted.param, "customer");
    assert.equal(deleted.message, `No such customer: '${customer.id}'`);
  } finally {
    await close();
  }
});

Deno.test("completing checkout makes an active subscription with item periods and a paid invoice", async () => {
  await withEmulator({}, async (running) => {
    const { stripe, emulator } = running;
    const start = emulator.events().length;
    const { customer, session, subscription } = await subscribed(running);
    assert.equal(subscription.status, "active");
    assert.equal(subscription.customer, customer.id);
    assert.deepEqual(subscription.metadata, { userId: "user-1" });
    assert.equal(subscription.cancel_at_period_end, false);
    assert.equal(subscription.cancel_at, null);
    assert.equal(subscription.trial_end, null);
    assert.ok(!("current_period_end" in subscription));
    const item = subscription.items.data[0];
    assert.ok(item);
    assert.equal(item.price.id, DEFAULT_PRICE_ID);
    assert.equal(item.quantity, 1);
    assert.ok(item.current_period_end > item.current_period_start);
    assert.ok(item.current_period_end - item.current_period_start >= 28 * 86400);

    const fetched = await stripe.subscriptions.retrieve(subscription.id, {
      expand: ["latest_invoice", "customer"],
    });
    assert.equal(typeof fetched.customer, "object");
    const invoice = fetched.latest_invoice;
    assert.ok(invoice && typeof invoice === "object");
    assert.equal(invoice.status, "paid");
    assert.equal(invoice.amount_paid, 1000);
    assert.equal(invoice.billing_reason, "subscription_create");
    assert.equal(invoice.parent?.type, "subscription_details");
    assert.equal(invoice.parent?.subscription_details?.subscription, subscription.id);
    const line = invoice.lines.data[0];
    assert.equal(line?.parent?.subscription_item_details?.subscription, subscription.id);
    assert.equal(line?.pricing?.price_details?.price, DEFAULT_PRICE_ID);

    const completed = await stripe.checkout.sessions.retrieve(session.id);
    assert.equal(completed.status, "complete");
    assert.equal(completed.payment_status, "paid");
    assert.equal(completed.subscription, subscription.id);
    assert.equal(completed.customer, customer.id);

    assert.deepEqual(
      typesSince(running, start + 1).filter((type) => !type.startsWith("entitlements.")),
      [
        "customer.subscription.created",
        "invoice.created",
        "invoice.finalized",
        "invoice.paid",
        "invoice.payment_succeeded",
        "checkout.session.completed",
      ],
    );
    const listed = await stripe.subscriptions.list({ customer: customer.id, status: "active" });
    assert.deepEqual(listed.data.map((sub) => sub.id), [subscription.id]);
    const invoices = await stripe.invoices.list({ subscription: subscription.id });
    assert.equal(invoices.data.length, 1);
  });
});

Deno.test("completing checkout with a trial makes a trialing subscription and a zero invoice", async () => {
  await withEmulator({}, async (running) => {
    const { session, subscription } = await subscribed(running, { trialDays: 14 });
    assert.equal(subscription.status, "trialing");
    assert.ok(subscription.trial_start !== null && subscription.trial_end !== null);
    assert.equal(subscription.trial_end - subscription.trial_start, 14 * 86400);
    const invoice = await running.stripe.invoices.retrieve(String(subscription.latest_invoice));
    assert.equal(invoice.amount_due, 0);
    assert.equal(invoice.status, "paid");
    const completed = await running.stripe.checkout.sessions.retrieve(session.id);
    assert.equal(completed.payment_status, "no_payment_required");
  });
});

Deno.test("expiring checkout emits checkout.session.expired", async () => {
  await withEmulator({}, async (running) => {
    const customer = await running.stripe.customers.create({});
    const session = await running.stripe.checkout.sessions.create(checkoutParams(customer.id));
    const expired = running.emulator.expireCheckout(session.id);
    assert.equal(expired.status, "expired");
    assert.equal(running.emulator.events().at(-1)?.type, "checkout.session.expired");
    assert.throws(() => running.emulator.completeCheckout(session.id));
  });
});

Deno.test("trial, card collection and trial-end parameters are checked and reflected", async () => {
  await withEmulator({}, async ({ stripe, emulator }) => {
    const customer = await stripe.customers.create({ email: "ada@example.com" });
    const base = checkoutParams(customer.id);
    for (const days of [0, 731]) {
      const error = await rejects(
        stripe.checkout.sessions.create({
          ...base,
          subscription_data: { trial_period_days: days },
        }),
        Stripe.errors.StripeInvalidRequestError,
      );
      assert.equal(error.param, "subscription_data[trial_period_days]");
    }
    const collection = await rejects(
      stripe.checkout.sessions.create({
        ...base,
        payment_method_collection: "sometimes" as "always",
      }),
      Stripe.errors.StripeInvalidRequestError,
    );
    assert.equal(collection.param, "payment_method_collection");
    assert.equal(
      collection.message,
      "Invalid payment_method_collection: must be one of always or if_required",
    );
    const behavior = await rejects(
      stripe.checkout.sessions.create({
        ...base,
        subscription_data: {
          trial_period_days: 7,
          trial_settings: { end_behavior: { missing_payment_method: "explode" as "cancel" } },
        },
      }),
      Stripe.errors.StripeInvalidRequestError,
    );
    assert.equal(
      behavior.param,
      "subscription_data[trial_settings][end_behavior][missing_payment_method]",
    );

    const session = await stripe.checkout.sessions.create({
      ...base,
      payment_method_collection: "if_required",
      subscription_data: {
        metadata: { userId: "user-1" },
        trial_period_days: 730,
        trial_settings: { end_behavior: { missing_payment_method: "pause" } },
      },
    });
    assert.equal(session.payment_method_collection, "if_required");
    assert.equal(session.amount_total, 0);
    const subscription = emulator.completeCheckout(session.id);
    assert.equal(subscription.trial_end, (subscription.trial_start ?? 0) + 730 * 86400);
    assert.equal(subscription.trial_settings?.end_behavior.missing_payment_method, "pause");
    assert.equal(subscription.default_payment_method, null);
    assert.equal(
      (await stripe.checkout.sessions.create(base)).payment_method_collection,
      "always",
    );
  });
});

Deno.test("promotion codes: allowed on the session, typed on the page, and reflected as a discount", async () => {
  await withEmulator({}, async ({ stripe, emulator }) => {
    const customer = await stripe.customers.create({ email: "ada@example.com" });
    const base = checkoutParams(customer.id);
    const exclusive = await rejects(
      stripe.checkout.sessions.create({
        ...base,
        allow_promotion_codes: true,
        discounts: [{ promotion_code: CATALOG.promotionCode.id }],
      }),
      Stripe.errors.StripeInvalidRequestError,
    );
    assert.equal(exclusive.code, "parameters_exclusive");

    const session = await stripe.checkout.sessions.create({ ...base, allow_promotion_codes: true });
    assert.equal(session.allow_promotion_codes, true);
    const { html } = await page(session.url ?? "");
    assert.match(html, /<input name="promotion_code"/);

    const wrong = await submit(session.url ?? "", { action: "pay", promotion_code: "NOPE" });
    assert.equal(wrong.status, 400);
    assert.match(await wrong.text(), /This code is invalid\./);
    assert.equal(emulator.subscriptions().length, 0);

    const paid = await submit(session.url ?? "", { action: "pay", promotion_code: "local20" });
    assert.equal(paid.status, 303);
    await paid.body?.cancel();
    const completed = await stripe.checkout.sessions.retrieve(session.id);
    assert.deepEqual(completed.discounts, [
      { coupon: null, promotion_code: CATALOG.promotionCode.id },
    ]);
    assert.equal(completed.amount_subtotal, 1000);
    assert.equal(completed.amount_total, 800);
    assert.equal(completed.total_details?.amount_discount, 200);

    const subscription = await stripe.subscriptions.retrieve(String(completed.subscription), {
      expand: ["discounts", "latest_invoice"],
    });
    const [discount] = subscription.discounts as Stripe.Discount[];
    assert.match(discount?.id ?? "", /^di_/);
    assert.equal(discount?.promotion_code, CATALOG.promotionCode.id);
    assert.equal(discount?.source.coupon, CATALOG.coupon);
    const invoice = subscription.latest_invoice as Stripe.Invoice;
    assert.equal(invoice.subtotal, 1000);
    assert.equal(invoice.total, 800);
    assert.equal(invoice.amount_paid, 800);
    assert.deepEqual(invoice.total_discount_amounts, [{ amount: 200, discount: discount?.id }]);
    // The discount lasts: the renewal is discounted too.
    emulator.subscription(subscription.id).renew();
    assert.equal(emulator.invoices().at(-1)?.amount_paid, 800);
    assert.equal(
      (await stripe.promotionCodes.retrieve(CATALOG.promotionCode.id)).times_redeemed,
      1,
    );
  });
});

Deno.test("a session's discounts name a coupon or promotion code that exists", async () => {
  await withEmulator({}, async ({ stripe, emulator }) => {
    const customer = await stripe.customers.create({});
    const base = checkoutParams(customer.id);
    const missing = await rejects(
      stripe.checkout.sessions.create({ ...base, discounts: [{ coupon: "nope" }] }),
      Stripe.errors.StripeInvalidRequestError,
    );
    assert.equal(missing.param, "discounts[0][coupon]");
    const session = await stripe.checkout.sessions.create({
      ...base,
      discounts: [{ coupon: CATALOG.coupon }],
    });
    assert.equal(session.amount_total, 800);
    const subscription = emulator.completeCheckout(session.id);
    assert.equal(subscription.discounts.length, 1);
  });
});

Deno.test("automatic tax needs the customer's address, or customer_update[address]=auto to save it", async () => {
  await withEmulator({}, async (running) => {
    const { stripe, emulator } = running;
    const customer = await stripe.customers.create({ email: "ada@example.com" });
    const base = checkoutParams(customer.id);
    const refused = await rejects(
      stripe.checkout.sessions.create({ ...base, automatic_tax: { enabled: true } }),
      Stripe.errors.StripeInvalidRequestError,
    );
    assert.equal(refused.statusCode, 400);
    assert.equal(refused.code, "customer_tax_location_invalid");
    assert.equal(refused.param, undefined);
    assert.equal(
      refused.message,
      "Automatic tax calculation in Checkout requires a valid address on the Customer. Add a valid address to the Customer or set `customer_update[address]` to 'auto' to save the billing address entered in Checkout to the Customer.",
    );

    const withoutCustomer = await rejects(
      stripe.checkout.sessions.create({
        ...base,
        customer: undefined,
        customer_email: "ada@example.com",
        customer_update: { address: "auto" },
      }),
      Stripe.errors.StripeInvalidRequestError,
    );
    assert.equal(withoutCustomer.param, "customer_update");

    const session = await stripe.checkout.sessions.create({
      ...base,
      automatic_tax: { enabled: true },
      customer_update: { address: "auto", name: "auto" },
    });
    assert.equal(session.automatic_tax.enabled, true);
    assert.equal(session.automatic_tax.status, "requires_location_inputs");
    const start = emulator.events().length;
    const paid = await submit(session.url ?? "", { action: "pay", name: "Ada Lovelace" });
    assert.equal(paid.status, 303);
    await paid.body?.cancel();
    const saved = await stripe.customers.retrieve(customer.id) as Stripe.Customer;
    assert.equal(saved.address?.country, TEST_ADDRESS.country);
    assert.equal(saved.name, "Ada Lovelace");
    assert.equal(typesSince(running, start)[0], "customer.updated");
    const subscription = emulator.subscriptions()[0];
    assert.equal(subscription?.automatic_tax.enabled, true);

    // A customer with an address needs no customer_update.
    const addressed = await stripe.checkout.sessions.create({
      ...base,
      automatic_tax: { enabled: true },
    });
    assert.equal(addressed.automatic_tax.enabled, true);
  });
});
