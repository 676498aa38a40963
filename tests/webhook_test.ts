import assert from "node:assert/strict";
import { type CompleteCheckoutOptions, DEFAULT_PRICE_ID, signPayload } from "../dev/stripe/mod.ts";
import type { Stripe } from "../supabase/functions/_shared/stripe.ts";
import { idOf } from "../supabase/functions/_shared/subscription.ts";
import {
  closeHarness,
  type Harness,
  harnessTest,
  SITE_URL,
  STRIPE_SECRET_KEY,
  type TestUser,
  WEBHOOK_SECRET,
} from "./harness.ts";
import { APPLIED_TYPES, mulberry32, profileProblem, shuffle } from "./history.ts";

const WEBHOOK_URL = "http://127.0.0.1/functions/v1/stripe-webhook";
const MIB = 1024 * 1024;

// ---- helpers ----------------------------------------------------------------------------------

/** Events recorded after `mark` whose object mentions one of `ids` (subscription, session, ...). */
function eventsAbout(h: Harness, mark: number, ids: readonly string[]): Stripe.Event[] {
  return h.emulator.events().slice(mark).filter((event) => {
    const text = JSON.stringify(event.data.object);
    return ids.some((id) => text.includes(`"${id}"`));
  });
}

/** The one event of `type` among `events`. */
function single(events: readonly Stripe.Event[], type: string): Stripe.Event {
  const found = events.filter((event) => event.type === type);
  assert.equal(found.length, 1, `expected one ${type} event, found ${found.length}`);
  const [event] = found;
  assert.ok(event);
  return event;
}

/** A user who went through checkout, with the subscription Stripe made (no event delivered yet). */
interface Subscribed {
  user: TestUser;
  session: Stripe.Checkout.Session;
  subscription: Stripe.Subscription;
  /** Every event about this session and subscription so far. */
  events(): Stripe.Event[];
}

async function subscribe(
  h: Harness,
  options: CompleteCheckoutOptions = {},
  existing?: TestUser,
): Promise<Subscribed> {
  const user = existing ?? await h.createUser();
  const mark = h.emulator.events().length;
  const response = await h.post(h.checkout, user.token);
  assert.equal(response.status, 200);
  await response.body?.cancel();
  const session = h.emulator.checkoutSessions().findLast((s) =>
    s.client_reference_id === user.id && s.status === "open"
  );
  assert.ok(session, "checkout made no open session");
  const subscription = h.emulator.completeCheckout(session.id, options);
  return {
    user,
    session,
    subscription,
    events: () => eventsAbout(h, mark, [session.id, subscription.id]),
  };
}

/** Delivers an event and asserts Stripe's happy answer. */
async function deliverOk(h: Harness, event: Stripe.Event | object | string): Promise<void> {
  const response = await h.deliver(event);
  assert.equal(response.status, 200);
  assert.equal(response.headers.get("content-type"), "application/json");
  assert.equal(response.headers.get("access-control-allow-origin"), "*");
  assert.deepEqual(await response.json(), { received: true });
}

async function deliverAll(h: Harness, events: readonly Stripe.Event[]): Promise<void> {
  for (const event of events) await deliverOk(h, event);
}

/** Delivers only the checkout.session.completed event of a subscription. */
async function deliverCheckout(h: Harness, subscribed: Subscribed): Promise<void> {
  await deliverOk(h, single(subscribed.events(), "checkout.session.completed"));
}

/** Runs a change at Stripe and delivers only the event of `type` it produced. */
async function deliverOnly(
  h: Harness,
  subscriptionId: string,
  type: string,
  change: () => unknown,
): Promise<void> {
  const mark = h.emulator.events().length;
  change();
  await deliverOk(h, single(eventsAbout(h, mark, [subscriptionId]), type));
}

async function ledgerCount(h: Harness, eventId: string): Promise<number> {
  const [row] = await h.sql<{ n: number }[]>`
    select count(*)::int as n from public.stripe_events where id = ${eventId}`;
  return row?.n ?? -1;
}

function seconds(date: Date | null): number | null {
  return date === null ? null : date.getTime() / 1000;
}

/** The billing columns of a profile, in Stripe's units, for comparison with a subscription. */
async function billingOf(h: Harness, userId: string) {
  const p = await h.profile(userId);
  return {
    status: p.subscription_status,
    customer: p.stripe_customer_id,
    subscription: p.stripe_subscription_id,
    price: p.price_id,
    currentPeriodEnd: seconds(p.current_period_end),
    cancelAtPeriodEnd: p.cancel_at_period_end,
    cancelAt: seconds(p.cancel_at),
    trialEnd: seconds(p.trial_end),
    createdAt: seconds(p.subscription_created_at),
  };
}

/** Asserts the profile holds the subscription's current state at Stripe, every billing column. */
async function assertSynced(h: Harness, userId: string, subscriptionId: string): Promise<void> {
  assert.equal(await profileProblem(h, userId, subscriptionId), null);
}

function postRaw(
  h: Harness,
  body: BodyInit | null,
  headers: Record<string, string>,
  method = "POST",
): Promise<Response> {
  return h.webhook(new Request(WEBHOOK_URL, { method, headers, body }));
}

async function assertInvalidSignature(response: Response): Promise<void> {
  assert.equal(response.status, 400);
  assert.equal(response.headers.get("content-type"), "application/json");
  assert.equal(response.headers.get("access-control-allow-origin"), "*");
  assert.deepEqual(await response.json(), { error: "Invalid signature" });
}

function logsFor(h: Harness, eventId: string): Record<string, unknown>[] {
  return h.logs
    .map((line) => JSON.parse(line) as Record<string, unknown>)
    .filter((fields) => fields.eventId === eventId);
}

function syntheticEvent(type: string, object: Record<string, unknown>): Record<string, unknown> {
  return {
    id: `evt_test_${crypto.randomUUID().replaceAll("-", "")}`,
    object: "event",
    api_version: "2026-10-28.endive",
    created: Math.floor(Date.now() / 1000),
    data: { object },
    livemode: false,
    pending_webhooks: 1,
    request: { id: null, idempotency_key: null },
    type,
  };
}

// ---- signatures -------------------------------------------------------------------------------

interface SignatureCase {
  name: string;
  send(h: Harness, body: string): Promise<Response>;
}

const SIGNATURE_CASES: SignatureCase[] = [
  {
    name: "without a stripe-signature header",
    send: (h, body) => postRaw(h, body, { "Content-Type": "application/json" }),
  },
  {
    name: "with a stripe-signature header of garbage",
    send: (h, body) => postRaw(h, body, { "Stripe-Signature": "garbage" }),
  },
  {
    name: "with a stripe-signature header without a timestamp or signature",
    send: (h, body) => postRaw(h, body, { "Stripe-Signature": "t=abc,v1=" }),
  },
  {
    name: "with a body signed with another secret",
    send: (h, body) => h.deliver(body, { secret: "whsec_someone_else" }),
  },
  {
    name: "with a stale timestamp (301 seconds old)",
    send: (h, body) => h.deliver(body, { timestamp: Math.floor(Date.now() / 1000) - 301 }),
  },
  {
    name: "with a body altered after signing",
    send: async (h, body) => {
      const signature = await signPayload(body, WEBHOOK_SECRET);
      const altered = body.replace(`"complete"`, `"completE"`);
      assert.notEqual(altered, body);
      return postRaw(h, altered, { "Stripe-Signature": signature });
    },
  },
  {
    name: "with a valid signature of a different body",
    send: async (h, body) => {
      const other = JSON.stringify({ ...JSON.parse(body), id: "evt_other" });
      const signature = await signPayload(other, WEBHOOK_SECRET);
      return postRaw(h, body, { "Stripe-Signature": signature });
    },
  },
];

for (const signatureCase of SIGNATURE_CASES) {
  harnessTest(
    `stripe-webhook answers 400 ${signatureCase.name} and writes nothing`,
    async (h) => {
      const subscribed = await subscribe(h);
      const event = single(subscribed.events(), "checkout.session.completed");
      const before = await h.profile(subscribed.user.id);

      await assertInvalidSignature(await signatureCase.send(h, JSON.stringify(event)));

      assert.equal(await ledgerCount(h, event.id), 0);
      assert.deepEqual(await h.profile(subscribed.user.id), before);
      // The same event, correctly signed, is applied: the refusal was the signature's doing.
      await deliverOk(h, event);
      assert.equal(await ledgerCount(h, event.id), 1);
      assert.equal((await h.profile(subscribed.user.id)).subscription_status, "active");
    },
  );
}

harnessTest("stripe-webhook answers 400 to a validly signed body that is not JSON", async (h) => {
  const response = await h.deliver("this is not json {");
  assert.equal(response.status, 400);
  assert.equal(response.headers.get("content-type"), "application/json");
  assert.equal(response.headers.get("access-control-allow-origin"), "*");
  assert.deepEqual(await response.json(), { error: "Invalid payload" });
});

// ---- HTTP rules -------------------------------------------------------------------------------

harnessTest(
  "stripe-webhook answers 413 to a body over 1 MiB that declares its length",
  async (h) => {
    const body = "x".repeat(MIB + 1);
    const signature = await signPayload(body, WEBHOOK_SECRET);
    const response = await postRaw(h, body, {
      "Content-Length": String(MIB + 1),
      "Stripe-Signature": signature,
    });
    assert.equal(response.status, 413);
    assert.equal(response.headers.get("content-type"), "application/json");
    assert.equal(response.headers.get("access-control-allow-origin"), "*");
    assert.deepEqual(await response.json(), { error: "Payload too large" });
  },
);

harnessTest(
  "stripe-webhook answers 413 to a streamed body over 1 MiB without a content length",
  async (h) => {
    const chunk = new Uint8Array(64 * 1024).fill(120);
    const total = 8 * MIB;
    let pulled = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (pulled >= total) return controller.close();
        pulled += chunk.byteLength;
        controller.enqueue(chunk);
      },
    });
    const response = await postRaw(h, stream, { "Stripe-Signature": "t=1,v1=00" });
    assert.equal(response.status, 413);
    assert.equal(response.headers.get("content-type"), "application/json");
    assert.equal(response.headers.get("access-control-allow-origin"), "*");
    assert.deepEqual(await response.json(), { error: "Payload too large" });
    assert.ok(pulled < total, `read ${pulled} bytes of a body it had already refused`);
  },
);

harnessTest("stripe-webhook answers 413 before checking the signature", async (h) => {
  const response = await postRaw(h, "x".repeat(MIB + 10), {});
  assert.equal(response.status, 413);
  await response.body?.cancel();
});

harnessTest(
  "stripe-webhook accepts a body of exactly 1 MiB up to the signature check",
  async (h) => {
    // A body at the limit is read, then refused for its (missing) signature, not its size.
    const response = await postRaw(h, "x".repeat(MIB), {});
    await assertInvalidSignature(response);
  },
);

for (const method of ["GET", "PUT", "DELETE"]) {
  harnessTest(`stripe-webhook answers 405 to ${method}`, async (h) => {
    const response = await postRaw(h, method === "PUT" ? "{}" : null, {}, method);
    assert.equal(response.status, 405);
    assert.equal(response.headers.get("content-type"), "application/json");
    assert.equal(response.headers.get("access-control-allow-origin"), "*");
    assert.deepEqual(await response.json(), { error: "Method not allowed" });
  });
}

harnessTest(
  "stripe-webhook answers an OPTIONS preflight with 204 and the CORS headers",
  async (h) => {
    const response = await postRaw(h, null, {
      Origin: "http://elsewhere.localhost",
      "Access-Control-Request-Method": "POST",
    }, "OPTIONS");
    assert.equal(response.status, 204);
    assert.equal(response.headers.get("access-control-allow-origin"), "*");
    const methods = response.headers.get("access-control-allow-methods") ?? "";
    assert.match(methods, /\bPOST\b/);
    assert.match(methods, /\bOPTIONS\b/);
    const allowed = (response.headers.get("access-control-allow-headers") ?? "")
      .split(",").map((name) => name.trim().toLowerCase());
    for (const name of ["authorization", "content-type", "apikey", "x-client-info"]) {
      assert.ok(allowed.includes(name), `Access-Control-Allow-Headers lacks ${name}`);
    }
    assert.equal(await response.text(), "");
  },
);

// ---- effects of each event type ---------------------------------------------------------------

harnessTest(
  "stripe-webhook applies checkout.session.completed: active, customer, subscription and dates",
  async (h) => {
    const subscribed = await subscribe(h);
    await deliverCheckout(h, subscribed);
    const sub = subscribed.subscription;
    const item = sub.items.data[0];
    assert.ok(item);
    assert.deepEqual(await billingOf(h, subscribed.user.id), {
      status: "active",
      customer: idOf(sub.customer),
      subscription: sub.id,
      price: DEFAULT_PRICE_ID,
      currentPeriodEnd: item.current_period_end,
      cancelAtPeriodEnd: false,
      cancelAt: null,
      trialEnd: null,
      createdAt: sub.created,
    });
    await assertSynced(h, subscribed.user.id, sub.id);
  },
);

harnessTest("stripe-webhook applies customer.subscription.created", async (h) => {
  const subscribed = await subscribe(h);
  await deliverOk(h, single(subscribed.events(), "customer.subscription.created"));
  const billing = await billingOf(h, subscribed.user.id);
  assert.equal(billing.status, "active");
  assert.equal(billing.subscription, subscribed.subscription.id);
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
    let billing = await billingOf(h, user.id);
    assert.equal(billing.status, "active");
    assert.equal(billing.cancelAtPeriodEnd, true);
    assert.equal(billing.cancelAt, item.current_period_end);
    await assertSynced(h, user.id, subscription.id);

    await deliverOnly(
      h,
      subscription.id,
      "customer.subscription.updated",
      () => control.cancelAtPeriodEnd(false),
    );
    billing = await billingOf(h, user.id);
    assert.equal(billing.cancelAtPeriodEnd, false);
    assert.equal(billing.cancelAt, null);
  },
);

harnessTest("stripe-webhook applies customer.subscription.updated for cancel_at", async (h) => {
  const subscribed = await subscribe(h);
  const { user, subscription } = subscribed;
  await deliverCheckout(h, subscribed);
  const at = Math.floor(Date.now() / 1000) + 10 * 24 * 60 * 60;
  await deliverOnly(
    h,
    subscription.id,
    "customer.subscription.updated",
    () => h.emulator.subscription(subscription.id).cancelAt(at),
  );
  const billing = await billingOf(h, user.id);
  assert.equal(billing.status, "active");
  assert.equal(billing.cancelAt, at);
  assert.equal(billing.cancelAtPeriodEnd, false);
  await assertSynced(h, user.id, subscription.id);
});

harnessTest(
  "stripe-webhook applies customer.subscription.updated for a price change",
  async (h) => {
    const subscribed = await subscribe(h);
    const { user, subscription } = subscribed;
    await deliverCheckout(h, subscribed);
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
    assert.equal((await billingOf(h, user.id)).price, price.id);
    await assertSynced(h, user.id, subscription.id);
  },
);

harnessTest(
  "stripe-webhook applies customer.subscription.deleted: canceled, customer kept",
  async (h) => {
    const subscribed = await subscribe(h);
    const { user, subscription } = subscribed;
    await deliverCheckout(h, subscribed);
    await deliverOnly(
      h,
      subscription.id,
      "customer.subscription.deleted",
      () => h.emulator.subscription(subscription.id).cancelNow(),
    );
    const billing = await billingOf(h, user.id);
    assert.equal(billing.status, "canceled");
    assert.equal(billing.customer, idOf(subscription.customer));
    assert.equal(billing.subscription, subscription.id);
    await assertSynced(h, user.id, subscription.id);
  },
);

harnessTest(
  "stripe-webhook applies customer.subscription.paused and customer.subscription.resumed",
  async (h) => {
    const subscribed = await subscribe(h);
    const { user, subscription } = subscribed;
    const control = h.emulator.subscription(subscription.id);
    await deliverCheckout(h, subscribed);
    await deliverOnly(h, subscription.id, "customer.subscription.paused", () => control.pause());
    assert.equal((await billingOf(h, user.id)).status, "paused");
    await assertSynced(h, user.id, subscription.id);

    await deliverOnly(h, subscription.id, "customer.subscription.resumed", () => control.resume());
    assert.equal((await billingOf(h, user.id)).status, "active");
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
    await deliverCheckout(h, subscribed);
    // A change whose own event is never delivered: only this event can bring it in.
    control.cancelAtPeriodEnd(true);
    assert.equal((await billingOf(h, user.id)).cancelAtPeriodEnd, false);
    await deliverOnly(h, subscription.id, type, () => {
      if (type === "customer.subscription.pending_update_applied") control.pendingUpdateApplied();
      else control.pendingUpdateExpired();
    });
    assert.equal((await billingOf(h, user.id)).cancelAtPeriodEnd, true);
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
    await deliverCheckout(h, subscribed);
    let billing = await billingOf(h, user.id);
    assert.equal(billing.status, "trialing");
    assert.equal(billing.trialEnd, subscription.trial_end);
    assert.equal(billing.currentPeriodEnd, subscription.trial_end);
    await assertSynced(h, user.id, subscription.id);

    control.cancelAtPeriodEnd(true);
    await deliverOnly(
      h,
      subscription.id,
      "customer.subscription.trial_will_end",
      () => control.trialWillEnd(),
    );
    assert.equal((await billingOf(h, user.id)).cancelAtPeriodEnd, true);
    await assertSynced(h, user.id, subscription.id);

    control.cancelAtPeriodEnd(false);
    await deliverOnly(
      h,
      subscription.id,
      "customer.subscription.updated",
      () => control.endTrial(),
    );
    billing = await billingOf(h, user.id);
    assert.equal(billing.status, "active");
    assert.equal(billing.cancelAtPeriodEnd, false);
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
    await deliverCheckout(h, subscribed);

    await deliverOnly(
      h,
      subscription.id,
      "invoice.payment_failed",
      () => control.renew({ fail: true }),
    );
    const billing = await billingOf(h, user.id);
    assert.equal(billing.status, "past_due");
    assert.ok(firstEnd !== undefined && (billing.currentPeriodEnd ?? 0) > firstEnd);
    await assertSynced(h, user.id, subscription.id);

    await deliverOnly(h, subscription.id, "invoice.paid", () => control.payOpenInvoice());
    assert.equal((await billingOf(h, user.id)).status, "active");
    await assertSynced(h, user.id, subscription.id);
  },
);

harnessTest("stripe-webhook applies invoice.payment_action_required", async (h) => {
  const subscribed = await subscribe(h);
  const { user, subscription } = subscribed;
  await deliverCheckout(h, subscribed);
  await deliverOnly(
    h,
    subscription.id,
    "invoice.payment_action_required",
    () => h.emulator.subscription(subscription.id).requireAction(),
  );
  assert.equal((await billingOf(h, user.id)).status, "past_due");
  await assertSynced(h, user.id, subscription.id);
});

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
    const billing = await billingOf(h, user.id);
    assert.equal(billing.customer, customer.id);
    assert.equal(billing.subscription, subscription.id);
    assert.equal(billing.status, "active");
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
    const billing = await billingOf(h, user.id);
    assert.equal(billing.customer, customer.id);
    assert.equal(billing.subscription, subscription.id);
    await assertSynced(h, user.id, subscription.id);

    // Later events of that subscription find the user by the customer now stored.
    h.emulator.subscription(subscription.id).cancelAtPeriodEnd(true);
    await deliverAll(h, eventsAbout(h, mark, [subscription.id]));
    assert.equal((await billingOf(h, user.id)).cancelAtPeriodEnd, true);
    await assertSynced(h, user.id, subscription.id);
  },
);

// ---- exactly once ------------------------------------------------------------------------------

harnessTest("stripe-webhook answers 200 to a repeated delivery and changes nothing", async (h) => {
  const subscribed = await subscribe(h);
  const event = single(subscribed.events(), "checkout.session.completed");
  await deliverOk(h, event);
  const applied = await h.profile(subscribed.user.id);
  // Stripe's state moves on; a replay of the old event must not pull it in.
  h.emulator.subscription(subscribed.subscription.id).cancelAtPeriodEnd(true);

  await deliverOk(h, event);

  assert.equal(await ledgerCount(h, event.id), 1);
  const after = await h.profile(subscribed.user.id);
  assert.deepEqual(after, applied);
  assert.equal(after.updated_at.getTime(), applied.updated_at.getTime());
  assert.deepEqual(logsFor(h, event.id).map((fields) => fields.eventOutcome), [
    "applied",
    "duplicate",
  ]);
});

harnessTest(
  "stripe-webhook applies one event delivered 10 times at once exactly once",
  async (h) => {
    const subscribed = await subscribe(h);
    const event = single(subscribed.events(), "checkout.session.completed");
    const responses = await Promise.all(Array.from({ length: 10 }, () => h.deliver(event)));
    for (const response of responses) {
      assert.equal(response.status, 200);
      assert.deepEqual(await response.json(), { received: true });
    }
    assert.equal(await ledgerCount(h, event.id), 1);
    const outcomes = logsFor(h, event.id).map((fields) => fields.eventOutcome);
    assert.equal(outcomes.length, 10);
    assert.equal(outcomes.filter((outcome) => outcome === "applied").length, 1);
    assert.equal(outcomes.filter((outcome) => outcome === "duplicate").length, 9);
    await assertSynced(h, subscribed.user.id, subscribed.subscription.id);
  },
);

// ---- ordering ----------------------------------------------------------------------------------

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
    assert.equal((await billingOf(h, subscribed.user.id)).status, "active");
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
      assert.equal(response.status, 200);
      assert.deepEqual(await response.json(), { received: true });
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
    await deliverCheckout(h, first);
    h.emulator.subscription(first.subscription.id).cancelNow();
    await deliverOk(h, single(first.events(), "customer.subscription.deleted"));
    assert.equal((await billingOf(h, user.id)).status, "canceled");

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
    assert.deepEqual(logsFor(h, late.id).map((fields) => fields.eventOutcome), [
      "superseded",
      "duplicate",
    ]);
  },
);

// ---- events we acknowledge without applying ----------------------------------------------------

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
      assert.deepEqual(logsFor(h, id).map((fields) => fields.eventOutcome), ["unhandled"]);
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
      assert.deepEqual(logsFor(h, event.id).map((fields) => fields.eventOutcome), ["unmatched"]);
    }
    const [row] = await h.sql<{ n: number }[]>`
      select count(*)::int as n from public.profiles
      where stripe_customer_id = ${customer.id} or stripe_subscription_id = ${subscription.id}`;
    assert.equal(row?.n, 0);
  },
);

// ---- failures ----------------------------------------------------------------------------------

harnessTest(
  "stripe-webhook answers 500 while Stripe fails, writes nothing, and applies a later delivery",
  async (h) => {
    const subscribed = await subscribe(h);
    const event = single(subscribed.events(), "checkout.session.completed");
    const before = await h.profile(subscribed.user.id);
    h.emulator.failNext({ path: "/v1/subscriptions", status: 500, count: 5 });
    // Stripe retries a failed delivery; each attempt fails while Stripe's API does.
    for (let attempt = 0; attempt < 5; attempt++) {
      const response = await h.deliver(event);
      assert.equal(response.status, 500);
      assert.equal(response.headers.get("content-type"), "application/json");
      assert.equal(response.headers.get("access-control-allow-origin"), "*");
      assert.deepEqual(await response.json(), { error: "Webhook handler failed" });
      assert.equal(await ledgerCount(h, event.id), 0);
      assert.deepEqual(await h.profile(subscribed.user.id), before);
    }
    await deliverOk(h, event);
    assert.equal(await ledgerCount(h, event.id), 1);
    await assertSynced(h, subscribed.user.id, subscribed.subscription.id);
    assert.deepEqual(logsFor(h, event.id).map((fields) => fields.eventOutcome).at(-1), "applied");
  },
);

// ---- secrets -----------------------------------------------------------------------------------

harnessTest("stripe-webhook writes no secret to its log", async (h) => {
  const subscribed = await subscribe(h);
  const event = single(subscribed.events(), "checkout.session.completed");
  const before = h.logs.length;
  // One request down each path that logs: a bad signature, a failure at Stripe (logged with
  // its cause), an applied event, a duplicate, and an unhandled type.
  await assertInvalidSignature(await h.deliver(event, { secret: "whsec_someone_else" }));
  h.emulator.failNext({ path: "/v1/subscriptions", status: 500, count: 1 });
  const failed = await h.deliver(event);
  assert.equal(failed.status, 500);
  await failed.body?.cancel();
  await deliverOk(h, event);
  await deliverOk(h, event);
  await deliverOk(h, syntheticEvent("payment_intent.succeeded", { id: "pi_test_secrets" }));

  const lines = h.logs.slice(before);
  assert.deepEqual(
    lines.map((line) => JSON.parse(line) as Record<string, unknown>).map((fields) => [
      fields.function,
      fields.status,
      fields.outcome,
      fields.eventOutcome,
    ]),
    [
      ["stripe-webhook", 400, "rejected", undefined],
      ["stripe-webhook", 500, "failed", undefined],
      ["stripe-webhook", 200, "ok", "applied"],
      ["stripe-webhook", 200, "ok", "duplicate"],
      ["stripe-webhook", 200, "ok", "unhandled"],
    ],
  );
  for (const line of h.logs) {
    assert.ok(!line.includes(WEBHOOK_SECRET), `log line holds the webhook secret: ${line}`);
    assert.ok(!line.includes(STRIPE_SECRET_KEY), `log line holds the Stripe key: ${line}`);
  }
});

harnessTest(
  "a signed event without the shape of a Stripe event answers 400 and writes nothing",
  async (h) => {
    const id = `evt_malformed_${crypto.randomUUID().slice(0, 8)}`;
    const bodies = [
      {},
      { id, type: "customer.subscription.updated" },
      { id, type: "customer.subscription.updated", data: null },
      { id, type: "customer.subscription.updated", data: { object: "sub_1" } },
    ];
    for (const body of bodies) {
      const response = await h.deliver(body);
      assert.equal(response.status, 400, JSON.stringify(body));
      assert.deepEqual(await response.json(), { error: "Invalid payload" });
    }
    const shapeless = await h.deliver({
      id,
      type: "customer.subscription.updated",
      data: { object: {} },
    });
    assert.equal(shapeless.status, 200);
    await shapeless.body?.cancel();
    assert.equal(await ledgerCount(h, id), 0);
  },
);

closeHarness();
