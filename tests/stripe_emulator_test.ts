import assert from "node:assert/strict";
import { createStripe, Stripe } from "../supabase/functions/_shared/stripe.ts";
import {
  DEFAULT_PRICE_ID,
  type RunningStripeEmulator,
  signPayload,
  startStripeEmulator,
  type StripeEmulatorOptions,
} from "../dev/stripe_emulator.ts";
import { parseForm } from "../dev/stripe/form.ts";

const SECRET_KEY = "sk_test_emulator";

/** Starts an emulator and a client pointed at it; both go away with `close`. */
async function setup(options: StripeEmulatorOptions = {}) {
  const running = await startStripeEmulator({ secretKey: SECRET_KEY, ...options });
  const stripe = clientFor(running, SECRET_KEY);
  return { ...running, stripe };
}

function clientFor(running: RunningStripeEmulator, secretKey: string): Stripe {
  const url = new URL(running.url);
  return createStripe({
    secretKey,
    api: { host: url.hostname, port: Number(url.port), protocol: "http" },
    maxNetworkRetries: 0,
  });
}

/** The checkout parameters the project's checkout function sends. */
function checkoutParams(customer: string, userId = "user-1"): Stripe.Checkout.SessionCreateParams {
  return {
    mode: "subscription",
    allowed_payment_method_types: ["card"],
    line_items: [{ price: DEFAULT_PRICE_ID, quantity: 1 }],
    customer,
    client_reference_id: userId,
    metadata: { userId, email: "ada@example.com" },
    subscription_data: { metadata: { userId } },
    success_url: "http://localhost:3000/dashboard?session_id={CHECKOUT_SESSION_ID}",
    cancel_url: "http://localhost:3000/dashboard?canceled=true",
  };
}

/** A customer with a paid subscription, and the events it took. */
async function subscribed(stripe: Stripe, running: RunningStripeEmulator, trialDays?: number) {
  const customer = await stripe.customers.create({ email: "ada@example.com" });
  const session = await stripe.checkout.sessions.create(checkoutParams(customer.id));
  const subscription = running.emulator.completeCheckout(session.id, { trialDays });
  return { customer, session, subscription };
}

/** A response header of an SDK result (the fetch client exposes a `Headers`). */
function header(result: { lastResponse: { headers: unknown } }, name: string): string | null {
  const headers = result.lastResponse.headers;
  if (headers instanceof Headers) return headers.get(name);
  const value = (headers as Record<string, string | undefined>)[name];
  return value ?? null;
}

function typesSince(running: RunningStripeEmulator, start: number): string[] {
  return running.emulator.events().slice(start).map((event) => event.type);
}

async function rejects<T extends Error>(
  promise: Promise<unknown>,
  type: abstract new (...args: never[]) => T,
): Promise<T> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof type, `expected ${type.name}, got ${error}`);
    return error;
  }
  assert.fail(`expected ${type.name}, but the call succeeded`);
}

// ---- form parsing ------------------------------------------------------------------------------

Deno.test("the form parser builds nested objects and arrays from Stripe's bracket syntax", () => {
  const params = parseForm(
    "metadata[userId]=u1&line_items[0][price]=p&line_items[0][quantity]=1" +
      "&allowed_payment_method_types[0]=card&subscription_data[metadata][userId]=u1" +
      "&expand[]=a&expand[]=b&mode=subscription",
  );
  assert.deepEqual(params, {
    metadata: { userId: "u1" },
    line_items: [{ price: "p", quantity: "1" }],
    allowed_payment_method_types: ["card"],
    subscription_data: { metadata: { userId: "u1" } },
    expand: ["a", "b"],
    mode: "subscription",
  });
});

// ---- API through the real SDK ------------------------------------------------------------------

Deno.test("the emulator creates, retrieves, updates, lists and deletes customers", async () => {
  const { stripe, close } = await setup();
  try {
    const created = await stripe.customers.create({
      email: "ada@example.com",
      metadata: { userId: "user-1" },
    });
    assert.match(created.id, /^cus_/);
    assert.equal(created.object, "customer");
    assert.equal(created.email, "ada@example.com");
    assert.deepEqual(created.metadata, { userId: "user-1" });
    assert.equal(created.livemode, false);

    const fetched = await stripe.customers.retrieve(created.id);
    assert.equal(fetched.id, created.id);
    assert.equal(fetched.lastResponse.statusCode, 200);
    assert.match(fetched.lastResponse.requestId, /^req_/);

    const updated = await stripe.customers.update(created.id, { metadata: { plan: "pro" } });
    assert.deepEqual(updated.metadata, { userId: "user-1", plan: "pro" });

    const list = await stripe.customers.list({ email: "ada@example.com" });
    assert.equal(list.object, "list");
    assert.deepEqual(list.data.map((customer) => customer.id), [created.id]);
    assert.equal(list.has_more, false);

    const deleted = await stripe.customers.del(created.id);
    assert.deepEqual({ ...deleted }, { id: created.id, object: "customer", deleted: true });
    const afterDelete = await stripe.customers.retrieve(created.id);
    assert.equal(afterDelete.deleted, true);
  } finally {
    await close();
  }
});

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

Deno.test("a repeated idempotency key replays the first answer", async () => {
  const { stripe, emulator, close } = await setup();
  try {
    const first = await stripe.customers.create({ email: "ada@example.com" }, {
      idempotencyKey: "key-1",
    });
    const second = await stripe.customers.create({ email: "ada@example.com" }, {
      idempotencyKey: "key-1",
    });
    assert.equal(second.id, first.id);
    assert.equal(header(second, "idempotent-replayed"), "true");
    assert.equal(header(first, "idempotent-replayed"), null);
    assert.equal(emulator.customers().length, 1);
  } finally {
    await close();
  }
});

Deno.test("an idempotency key reused with other parameters is an idempotency error", async () => {
  const { stripe, close } = await setup();
  try {
    await stripe.customers.create({ email: "ada@example.com" }, { idempotencyKey: "key-2" });
    const error = await rejects(
      stripe.customers.create({ email: "bob@example.com" }, { idempotencyKey: "key-2" }),
      Stripe.errors.StripeIdempotencyError,
    );
    assert.equal(error.statusCode, 400);
    assert.equal(error.type, "StripeIdempotencyError");
  } finally {
    await close();
  }
});

Deno.test("idempotency keys belong to one secret key", async () => {
  const running = await startStripeEmulator();
  try {
    const one = await clientFor(running, "sk_test_one").customers.create({}, {
      idempotencyKey: "shared",
    });
    const two = await clientFor(running, "sk_test_two").customers.create({}, {
      idempotencyKey: "shared",
    });
    assert.notEqual(one.id, two.id);
  } finally {
    await running.close();
  }
});

Deno.test("eight concurrent creates with one idempotency key make one customer", async () => {
  const { stripe, emulator, close } = await setup();
  try {
    emulator.failNext({ path: "/v1/customers", delayMs: 50 });
    const customers = await Promise.all(
      Array.from(
        { length: 8 },
        () =>
          stripe.customers.create({ email: "ada@example.com", metadata: { userId: "u" } }, {
            idempotencyKey: "double-click",
          }),
      ),
    );
    assert.equal(new Set(customers.map((customer) => customer.id)).size, 1);
    assert.equal(emulator.customers().length, 1);
    assert.equal(
      emulator.events().filter((event) => event.type === "customer.created").length,
      1,
    );
  } finally {
    await close();
  }
});

Deno.test("a missing object is a resource_missing invalid request error", async () => {
  const { stripe, close } = await setup();
  try {
    const customer = await rejects(
      stripe.customers.retrieve("cus_missing"),
      Stripe.errors.StripeInvalidRequestError,
    );
    assert.equal(customer.statusCode, 404);
    assert.equal(customer.code, "resource_missing");
    assert.equal(customer.message, "No such customer: 'cus_missing'");
    assert.match(customer.requestId ?? "", /^req_/);

    for (
      const call of [
        () => stripe.subscriptions.retrieve("sub_missing"),
        () => stripe.invoices.retrieve("in_missing"),
        () => stripe.checkout.sessions.retrieve("cs_test_missing"),
        () => stripe.prices.retrieve("price_missing"),
        () => stripe.events.retrieve("evt_missing"),
      ]
    ) {
      const error = await rejects(call(), Stripe.errors.StripeInvalidRequestError);
      assert.equal(error.code, "resource_missing");
    }
  } finally {
    await close();
  }
});

Deno.test("a wrong or missing secret key is an authentication error", async () => {
  const running = await startStripeEmulator({ secretKey: SECRET_KEY });
  try {
    const error = await rejects(
      clientFor(running, "sk_test_wrong").customers.create({}),
      Stripe.errors.StripeAuthenticationError,
    );
    assert.equal(error.statusCode, 401);

    const response = await fetch(`${running.url}/v1/customers`);
    assert.equal(response.status, 401);
    const body = await response.json();
    assert.equal(body.error.type, "invalid_request_error");
    assert.match(body.error.message, /You did not provide an API key/);
  } finally {
    await running.close();
  }
});

Deno.test("responses carry Request-Id and echo Stripe-Version", async () => {
  const { url, close } = await setup();
  try {
    const response = await fetch(`${url}/v1/prices/${DEFAULT_PRICE_ID}`, {
      headers: { Authorization: `Bearer ${SECRET_KEY}`, "Stripe-Version": "2026-10-28.endive" },
    });
    assert.equal(response.status, 200);
    assert.match(response.headers.get("request-id") ?? "", /^req_/);
    assert.equal(response.headers.get("stripe-version"), "2026-10-28.endive");
    assert.equal(response.headers.get("content-type"), "application/json");
    const price = await response.json();
    assert.equal(price.id, DEFAULT_PRICE_ID);
    assert.equal(price.product, "prod_local_pro");
    assert.equal(price.unit_amount, 1000);
    assert.equal(price.unit_amount_decimal, "1000");
    assert.deepEqual(price.recurring, {
      interval: "month",
      interval_count: 1,
      meter: null,
      trial_period_days: null,
      usage_type: "licensed",
    });
  } finally {
    await close();
  }
});

Deno.test("a billing portal session points at the local portal page", async () => {
  const { stripe, url, close } = await setup();
  try {
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
      Stripe.errors.StripeInvalidRequestError,
    );
    assert.equal(missing.param, "customer");
  } finally {
    await close();
  }
});

Deno.test("completing checkout makes an active subscription with item periods and a paid invoice", async () => {
  const running = await setup();
  const { stripe, emulator, close } = running;
  try {
    const start = emulator.events().length;
    const { customer, session, subscription } = await subscribed(stripe, running);
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

    assert.deepEqual(typesSince(running, start + 1), [
      "customer.subscription.created",
      "invoice.created",
      "invoice.finalized",
      "invoice.paid",
      "invoice.payment_succeeded",
      "checkout.session.completed",
    ]);
    const listed = await stripe.subscriptions.list({ customer: customer.id, status: "active" });
    assert.deepEqual(listed.data.map((sub) => sub.id), [subscription.id]);
    const invoices = await stripe.invoices.list({ subscription: subscription.id });
    assert.equal(invoices.data.length, 1);
  } finally {
    await close();
  }
});

Deno.test("completing checkout with a trial makes a trialing subscription and a zero invoice", async () => {
  const running = await setup();
  try {
    const { session, subscription } = await subscribed(running.stripe, running, 14);
    assert.equal(subscription.status, "trialing");
    assert.ok(subscription.trial_start !== null && subscription.trial_end !== null);
    assert.equal(subscription.trial_end - subscription.trial_start, 14 * 86400);
    const invoice = await running.stripe.invoices.retrieve(String(subscription.latest_invoice));
    assert.equal(invoice.amount_due, 0);
    assert.equal(invoice.status, "paid");
    const completed = await running.stripe.checkout.sessions.retrieve(session.id);
    assert.equal(completed.payment_status, "no_payment_required");
  } finally {
    await running.close();
  }
});

Deno.test("expiring checkout emits checkout.session.expired", async () => {
  const running = await setup();
  try {
    const customer = await running.stripe.customers.create({});
    const session = await running.stripe.checkout.sessions.create(checkoutParams(customer.id));
    const expired = running.emulator.expireCheckout(session.id);
    assert.equal(expired.status, "expired");
    assert.equal(running.emulator.events().at(-1)?.type, "checkout.session.expired");
    assert.throws(() => running.emulator.completeCheckout(session.id));
  } finally {
    await running.close();
  }
});

Deno.test("API subscription updates emit customer.subscription.updated with previous attributes", async () => {
  const running = await setup();
  const { stripe, emulator } = running;
  try {
    const { subscription } = await subscribed(stripe, running);
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
    assert.equal(emulator.events().at(-1)?.type, "customer.subscription.deleted");
  } finally {
    await running.close();
  }
});

Deno.test("each control action sets the status and emits Stripe's events", async () => {
  const running = await setup();
  const { stripe, emulator } = running;
  try {
    const { subscription } = await subscribed(stripe, running);
    const control = emulator.subscription(subscription.id);
    let start = emulator.events().length;
    const next = () => {
      const types = typesSince(running, start);
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
      unit_amount: 10000,
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
  } finally {
    await running.close();
  }
});

Deno.test("trial control actions end the trial and announce its end", async () => {
  const running = await setup();
  try {
    const { subscription } = await subscribed(running.stripe, running, 7);
    const control = running.emulator.subscription(subscription.id);
    let start = running.emulator.events().length;
    control.trialWillEnd();
    assert.deepEqual(typesSince(running, start), ["customer.subscription.trial_will_end"]);
    start = running.emulator.events().length;
    const active = control.endTrial();
    assert.equal(active.status, "active");
    assert.deepEqual(typesSince(running, start), [
      "customer.subscription.updated",
      "invoice.created",
      "invoice.finalized",
      "invoice.paid",
      "invoice.payment_succeeded",
    ]);
  } finally {
    await running.close();
  }
});

Deno.test("renewing a subscription set to cancel at period end cancels it", async () => {
  const running = await setup();
  try {
    const { subscription } = await subscribed(running.stripe, running);
    const control = running.emulator.subscription(subscription.id);
    control.cancelAtPeriodEnd(true);
    const ended = control.renew();
    assert.equal(ended.status, "canceled");
    assert.equal(running.emulator.events().at(-1)?.type, "customer.subscription.deleted");
  } finally {
    await running.close();
  }
});

Deno.test("events are Stripe event objects, also listed by the API", async () => {
  const running = await setup();
  try {
    await subscribed(running.stripe, running);
    const recorded = running.emulator.events();
    const last = recorded.at(-1);
    assert.ok(last);
    assert.match(last.id, /^evt_/);
    assert.equal(last.object, "event");
    assert.equal(last.api_version, "2026-10-28.endive");
    assert.equal(last.livemode, false);
    assert.equal(last.pending_webhooks, 0);
    assert.equal(last.type, "checkout.session.completed");

    const listed = await running.stripe.events.list({ type: "invoice.*", limit: 3 });
    assert.deepEqual(
      listed.data.map((event) => event.type),
      ["invoice.payment_succeeded", "invoice.paid", "invoice.finalized"],
    );
    assert.equal(listed.has_more, true);
    const fetched = await running.stripe.events.retrieve(last.id);
    assert.equal(fetched.type, "checkout.session.completed");

    const control = await fetch(`${running.url}/_emulator/events`);
    assert.equal(control.status, 200);
    assert.equal((await control.json()).length, recorded.length);
  } finally {
    await running.close();
  }
});

Deno.test("injected faults answer Stripe's errors, then calls succeed again", async () => {
  const { stripe, emulator, close } = await setup();
  try {
    emulator.failNext({ method: "POST", path: "/v1/customers", status: 500 });
    const server = await rejects(stripe.customers.create({}), Stripe.errors.StripeAPIError);
    assert.equal(server.statusCode, 500);

    emulator.failNext({ path: /^\/v1\/customers/, status: 429, count: 2 });
    const limited = await rejects(stripe.customers.create({}), Stripe.errors.StripeRateLimitError);
    assert.equal(limited.code, "rate_limit");
    await rejects(stripe.customers.create({}), Stripe.errors.StripeRateLimitError);

    emulator.failNext({ status: 402 });
    await rejects(stripe.customers.create({}), Stripe.errors.StripeCardError);

    const customer = await stripe.customers.create({});
    assert.match(customer.id, /^cus_/);
  } finally {
    await close();
  }
});

Deno.test("a delay fault makes the SDK time out", async () => {
  const running = await setup();
  try {
    const url = new URL(running.url);
    const impatient = createStripe({
      secretKey: SECRET_KEY,
      api: { host: url.hostname, port: Number(url.port), protocol: "http" },
      maxNetworkRetries: 0,
      timeoutMs: 50,
    });
    running.emulator.failNext({ path: "/v1/customers", delayMs: 300 });
    await rejects(impatient.customers.create({}), Stripe.errors.StripeConnectionError);
  } finally {
    await running.close();
  }
});

Deno.test("the SDK's retry after a 500 reuses its idempotency key and makes one object", async () => {
  const running = await setup();
  try {
    const url = new URL(running.url);
    const retrying = createStripe({
      secretKey: SECRET_KEY,
      api: { host: url.hostname, port: Number(url.port), protocol: "http" },
      maxNetworkRetries: 1,
    });
    running.emulator.failNext({ path: "/v1/customers", status: 500 });
    const customer = await retrying.customers.create({ email: "ada@example.com" });
    assert.match(customer.id, /^cus_/);
    const calls = running.emulator.requests().filter((request) => request.path === "/v1/customers");
    assert.deepEqual(calls.map((call) => call.status), [500, 200]);
    assert.equal(calls[0]?.idempotencyKey, calls[1]?.idempotencyKey);
    assert.equal(running.emulator.customers().length, 1);
  } finally {
    await running.close();
  }
});

Deno.test("control routes work over HTTP", async () => {
  const running = await setup();
  const { stripe, url } = running;
  try {
    const customer = await stripe.customers.create({});
    const session = await stripe.checkout.sessions.create(checkoutParams(customer.id));
    const completed = await fetch(`${url}/_emulator/checkout/sessions/${session.id}/complete`, {
      method: "POST",
      body: "{}",
    });
    assert.equal(completed.status, 200);
    const subscription = await completed.json();
    assert.equal(subscription.status, "active");

    const failed = await fetch(`${url}/_emulator/subscriptions/${subscription.id}/renew`, {
      method: "POST",
      body: JSON.stringify({ fail: true }),
    });
    assert.equal(failed.status, 200);
    assert.equal((await failed.json()).status, "past_due");

    const paid = await fetch(`${url}/_emulator/subscriptions/${subscription.id}/pay-open-invoice`, {
      method: "POST",
    });
    assert.equal((await paid.json()).status, "active");

    const cancel = await fetch(
      `${url}/_emulator/subscriptions/${subscription.id}/cancel-at-period-end`,
      { method: "POST", body: JSON.stringify({ enabled: true }) },
    );
    assert.equal((await cancel.json()).cancel_at_period_end, true);

    const unknown = await fetch(`${url}/_emulator/subscriptions/${subscription.id}/explode`, {
      method: "POST",
    });
    assert.equal(unknown.status, 404);
    await unknown.body?.cancel();

    const fault = await fetch(`${url}/_emulator/faults`, {
      method: "POST",
      body: JSON.stringify({ path: "/v1/customers", status: 500 }),
    });
    assert.equal(fault.status, 200);
    await fault.body?.cancel();
    await rejects(stripe.customers.create({}), Stripe.errors.StripeAPIError);

    const reset = await fetch(`${url}/_emulator/reset`, { method: "POST" });
    assert.equal(reset.status, 200);
    await reset.body?.cancel();
    assert.equal(running.emulator.events().length, 0);
    assert.equal((await stripe.prices.retrieve(DEFAULT_PRICE_ID)).id, DEFAULT_PRICE_ID);
  } finally {
    await running.close();
  }
});

// ---- webhooks ----------------------------------------------------------------------------------

Deno.test("signPayload produces a header the SDK's verifier accepts", async () => {
  const payload = JSON.stringify({ id: "evt_1", object: "event", type: "customer.created" });
  const header = await signPayload(payload, "whsec_test", 1_700_000_000);
  assert.match(header, /^t=1700000000,v1=[0-9a-f]{64}$/);
  const stripe = new Stripe(SECRET_KEY);
  const event = await stripe.webhooks.constructEventAsync(
    payload,
    await signPayload(payload, "whsec_test"),
    "whsec_test",
    undefined,
    Stripe.createSubtleCryptoProvider(),
  );
  assert.equal(event.id, "evt_1");
});

/** A receiver that records deliveries and answers the given statuses in turn (then 200). */
function receiver(statuses: number[] = []) {
  const received: { body: string; signature: string; headers: Headers }[] = [];
  const server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen: () => {} }, async (req) => {
    received.push({
      body: await req.text(),
      signature: req.headers.get("stripe-signature") ?? "",
      headers: req.headers,
    });
    return new Response(null, { status: statuses.shift() ?? 200 });
  });
  return { received, url: `http://127.0.0.1:${server.addr.port}/webhook`, server };
}

Deno.test("events are delivered in order with signatures the SDK accepts", async () => {
  const hook = receiver();
  const running = await setup({ webhook: { url: hook.url, secret: "whsec_local" } });
  try {
    await subscribed(running.stripe, running);
    await running.emulator.deliveriesSettled();
    const types = running.emulator.events().map((event) => event.type);
    assert.equal(hook.received.length, types.length);
    const verifier = new Stripe(SECRET_KEY);
    const delivered: string[] = [];
    for (const delivery of hook.received) {
      assert.equal(delivery.headers.get("content-type"), "application/json; charset=utf-8");
      assert.equal(
        delivery.headers.get("user-agent"),
        "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
      );
      const event = await verifier.webhooks.constructEventAsync(
        delivery.body,
        delivery.signature,
        "whsec_local",
        undefined,
        Stripe.createSubtleCryptoProvider(),
      );
      assert.equal(event.pending_webhooks, 1);
      delivered.push(event.type);
    }
    assert.deepEqual(delivered, types);
  } finally {
    await running.close();
    await hook.server.shutdown();
  }
});

Deno.test("deliveries are signed with the wall clock when the emulator's clock is fixed", async () => {
  const hook = receiver();
  const running = await setup({
    webhook: { url: hook.url, secret: "whsec_local" },
    now: () => 1_600_000_000,
  });
  try {
    await running.stripe.customers.create({});
    await running.emulator.deliveriesSettled();
    const delivery = hook.received[0];
    assert.ok(delivery);
    const event = await new Stripe(SECRET_KEY).webhooks.constructEventAsync(
      delivery.body,
      delivery.signature,
      "whsec_local",
      undefined,
      Stripe.createSubtleCryptoProvider(),
    );
    assert.equal(event.created, 1_600_000_000);
  } finally {
    await running.close();
    await hook.server.shutdown();
  }
});

Deno.test("a delivery answered 500 is retried until it succeeds", async () => {
  const hook = receiver([500]);
  const lines: string[] = [];
  const running = await setup({
    webhook: { url: hook.url, secret: "whsec_local" },
    webhookRetryDelaysMs: [10, 10, 10, 10],
    log: (line) => lines.push(line),
  });
  try {
    const customer = await running.stripe.customers.create({});
    await running.emulator.deliveriesSettled();
    assert.equal(hook.received.length, 2);
    assert.equal(hook.received[0]?.body, hook.received[1]?.body);
    assert.equal(JSON.parse(hook.received[1]?.body ?? "{}").data.object.id, customer.id);
    assert.deepEqual(running.emulator.deliveries().map((attempt) => attempt.status), [500, 200]);
    assert.equal(lines.length, 1);
    assert.match(lines[0] ?? "", /customer\.created .* attempt 1 failed: HTTP 500/);
  } finally {
    await running.close();
    await hook.server.shutdown();
  }
});

Deno.test("a delivery that keeps failing gives up after five attempts", async () => {
  const hook = receiver([500, 500, 500, 500, 500, 500]);
  const running = await setup({
    webhook: { url: hook.url, secret: "whsec_local" },
    webhookRetryDelaysMs: [1, 1, 1, 1],
    log: () => {},
  });
  try {
    await running.stripe.customers.create({});
    await running.emulator.deliveriesSettled();
    assert.equal(hook.received.length, 5);
  } finally {
    await running.close();
    await hook.server.shutdown();
  }
});

// ---- pages -------------------------------------------------------------------------------------

/** The labels of a page's buttons, as a person reads them. */
function buttons(html: string): string[] {
  return [...html.matchAll(/<button[^>]*>([^<]*)<\/button>/g)].map((match) => match[1] ?? "");
}

/** Submits a page's form the way a browser does, without following the redirect. */
function submit(url: string, action: string): Promise<Response> {
  return fetch(url, {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ action }),
    redirect: "manual",
  });
}

Deno.test("the checkout page shows the price, the email, Pay and Back", async () => {
  const { stripe, close } = await setup();
  try {
    const customer = await stripe.customers.create({ email: "ada@example.com" });
    const session = await stripe.checkout.sessions.create(checkoutParams(customer.id));
    const response = await fetch(session.url ?? "");
    assert.equal(response.status, 200);
    assert.equal(response.headers.get("content-type"), "text/html; charset=utf-8");
    const html = await response.text();
    assert.match(html, /Pro — \$10\.00 \/ month/);
    assert.match(html, /ada@example\.com/);
    assert.deepEqual(buttons(html), ["Pay"]);
    assert.match(
      html,
      /<a class="button" href="http:\/\/localhost:3000\/dashboard\?canceled=true">Back<\/a>/,
    );
    assert.doesNotMatch(html, /<script|<link|src=/);
  } finally {
    await close();
  }
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

    const again = await fetch(session.url ?? "");
    const html = await again.text();
    assert.match(html, /This checkout is complete/);
    assert.deepEqual(buttons(html), []);
  } finally {
    await close();
  }
});

Deno.test("an expired checkout page says so and offers Back", async () => {
  const { stripe, emulator, close } = await setup();
  try {
    const customer = await stripe.customers.create({});
    const session = await stripe.checkout.sessions.create(checkoutParams(customer.id));
    emulator.expireCheckout(session.id);
    const html = await (await fetch(session.url ?? "")).text();
    assert.match(html, /expired/);
    assert.match(html, />Back<\/a>/);
    const paid = await submit(session.url ?? "", "pay");
    assert.equal(paid.status, 200);
    await paid.body?.cancel();
    assert.equal(emulator.subscriptions().length, 0);
  } finally {
    await close();
  }
});

Deno.test("pages escape what they show", async () => {
  const { stripe, close } = await setup();
  try {
    const customer = await stripe.customers.create({ email: "<img src=x onerror=alert(1)>" });
    const session = await stripe.checkout.sessions.create(checkoutParams(customer.id));
    const html = await (await fetch(session.url ?? "")).text();
    assert.doesNotMatch(html, /<img/);
    assert.match(html, /&lt;img src=x onerror=alert\(1\)&gt;/);
  } finally {
    await close();
  }
});

Deno.test("the portal page shows the subscription and its buttons act on it", async () => {
  const running = await setup();
  const { stripe, emulator } = running;
  try {
    const { customer, subscription } = await subscribed(stripe, running);
    const portal = await stripe.billingPortal.sessions.create({
      customer: customer.id,
      return_url: "http://localhost:3000/dashboard",
    });
    const url = portal.url;
    let html = await (await fetch(url)).text();
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
        html = await (await fetch(url)).text();
        assert.equal(buttons(html)[0], "Don't cancel");
        assert.match(html, /Cancels on/);
      }
    }
    html = await (await fetch(url)).text();
    assert.match(html, />canceled</);
    assert.deepEqual(buttons(html), ["Return"]);

    const back = await submit(url, "return");
    assert.equal(back.status, 303);
    assert.equal(back.headers.get("location"), "http://localhost:3000/dashboard");
    await back.body?.cancel();
    assert.ok(emulator.events().some((event) => event.type === "invoice.payment_failed"));
  } finally {
    await running.close();
  }
});

Deno.test("the portal page of a customer without a subscription says so and offers Return", async () => {
  const { stripe, close } = await setup();
  try {
    const customer = await stripe.customers.create({ email: "ada@example.com" });
    const portal = await stripe.billingPortal.sessions.create({
      customer: customer.id,
      return_url: "http://localhost:3000/dashboard",
    });
    const response = await fetch(portal.url);
    assert.equal(response.status, 200);
    const html = await response.text();
    assert.match(html, /You have no subscription/);
    assert.deepEqual(buttons(html), ["Return"]);
  } finally {
    await close();
  }
});
