import assert from "node:assert/strict";
import type { Stripe } from "../supabase/functions/_shared/stripe.ts";
import {
  fromUnixSeconds,
  idOf,
  isLive,
  toProfileUpdate,
} from "../supabase/functions/_shared/subscription.ts";
import { toUserId } from "../supabase/functions/_shared/user_id.ts";
import {
  HANDLED_EVENT_TYPES,
  type HandledEvent,
  isHandled,
  subjectOf,
  subscriptionOf,
} from "../supabase/functions/_shared/events.ts";
import { APPLIED_TYPES } from "./_support/billing.ts";

const USER_ID = "0b5f3c9e-8a57-4c1e-9f4e-2d7f3c1a9b10";

function item(id: string, priceId: string, start: number, end: number) {
  return {
    id,
    object: "subscription_item",
    price: { id: priceId },
    current_period_start: start,
    current_period_end: end,
  };
}

/** A subscription with the fields the mapper reads; the rest of Stripe's shape is irrelevant here. */
function subscription(fields: Record<string, unknown>): Stripe.Subscription {
  return {
    id: "sub_1",
    object: "subscription",
    customer: "cus_1",
    status: "active",
    cancel_at_period_end: false,
    cancel_at: null,
    canceled_at: null,
    trial_end: null,
    created: 1_700_000_000,
    metadata: { userId: USER_ID },
    items: { object: "list", data: [item("si_1", "price_pro", 1_700_000_000, 1_702_592_000)] },
    ...fields,
  } as unknown as Stripe.Subscription;
}

function event(type: string, object: Record<string, unknown>): Stripe.Event {
  return { id: "evt_1", object: "event", type, data: { object } } as unknown as Stripe.Event;
}

/** An event of a handled type; fails the test when the webhook does not handle `type`. */
function handled(type: string, object: Record<string, unknown>): HandledEvent {
  const built = event(type, object);
  assert.ok(isHandled(built), `${type} is not handled`);
  return built;
}

Deno.test("toProfileUpdate maps an active subscription, seconds to dates", () => {
  assert.deepEqual(toProfileUpdate(subscription({})), {
    subscriptionId: "sub_1",
    customerId: "cus_1",
    status: "active",
    priceId: "price_pro",
    currentPeriodEnd: new Date(1_702_592_000_000),
    cancelAtPeriodEnd: false,
    cancelAt: null,
    canceledAt: null,
    trialEnd: null,
    createdAt: new Date(1_700_000_000_000),
    userId: USER_ID,
  });
});

Deno.test("toProfileUpdate takes the period end from the items, the latest one", () => {
  const update = toProfileUpdate(subscription({
    items: {
      object: "list",
      data: [item("si_1", "price_a", 1, 1_702_000_000), item("si_2", "price_b", 1, 1_705_000_000)],
    },
  }));
  assert.equal(update.priceId, "price_a");
  assert.deepEqual(update.currentPeriodEnd, new Date(1_705_000_000_000));
});

Deno.test("toProfileUpdate maps cancellation, trial and an expanded customer", () => {
  const update = toProfileUpdate(subscription({
    customer: { id: "cus_9", object: "customer" },
    status: "trialing",
    cancel_at_period_end: true,
    cancel_at: 1_702_592_000,
    canceled_at: 1_701_000_000,
    trial_end: 1_700_600_000,
  }));
  assert.equal(update.customerId, "cus_9");
  assert.equal(update.status, "trialing");
  assert.equal(update.cancelAtPeriodEnd, true);
  assert.deepEqual(update.cancelAt, new Date(1_702_592_000_000));
  assert.deepEqual(update.canceledAt, new Date(1_701_000_000_000));
  assert.deepEqual(update.trialEnd, new Date(1_700_600_000_000));
});

Deno.test("toProfileUpdate has no period or price for a subscription without items", () => {
  const update = toProfileUpdate(subscription({ items: { object: "list", data: [] } }));
  assert.equal(update.priceId, null);
  assert.equal(update.currentPeriodEnd, null);
});

Deno.test("toProfileUpdate ignores a metadata user id that is not a UUID", () => {
  assert.equal(toProfileUpdate(subscription({ metadata: { userId: "1 or 1=1" } })).userId, null);
  assert.equal(toProfileUpdate(subscription({ metadata: {} })).userId, null);
});

Deno.test("helpers convert seconds, expandable ids and user ids", () => {
  assert.equal(fromUnixSeconds(null), null);
  assert.deepEqual(fromUnixSeconds(1), new Date(1000));
  assert.equal(idOf("cus_1"), "cus_1");
  assert.equal(idOf({ id: "cus_2" }), "cus_2");
  assert.equal(idOf(null), null);
  assert.equal(toUserId(USER_ID.toUpperCase()), USER_ID);
  assert.equal(toUserId("x"), null);
});

Deno.test("live statuses are the ones that block a second checkout", () => {
  for (const status of ["active", "trialing", "past_due", "unpaid", "paused"]) {
    assert.ok(isLive(status));
  }
  for (const status of ["canceled", "incomplete", "incomplete_expired", null, undefined]) {
    assert.ok(!isLive(status));
  }
});

Deno.test("subscriptionOf finds the subscription and user of a subscription-mode checkout", () => {
  const completed = handled("checkout.session.completed", {
    mode: "subscription",
    subscription: "sub_1",
    metadata: { userId: USER_ID },
    client_reference_id: null,
  });
  assert.deepEqual(subscriptionOf(completed), { subscriptionId: "sub_1", userId: USER_ID });
  const byReference = handled("checkout.session.completed", {
    mode: "subscription",
    subscription: { id: "sub_2" },
    metadata: {},
    client_reference_id: USER_ID,
  });
  assert.deepEqual(subscriptionOf(byReference), { subscriptionId: "sub_2", userId: USER_ID });
  const payment = handled("checkout.session.completed", {
    mode: "payment",
    subscription: null,
    metadata: {},
  });
  assert.equal(subscriptionOf(payment), null);
});

Deno.test("subscriptionOf reads every subscription event type", () => {
  for (
    const type of [
      "customer.subscription.created",
      "customer.subscription.updated",
      "customer.subscription.deleted",
      "customer.subscription.paused",
      "customer.subscription.resumed",
      "customer.subscription.pending_update_applied",
      "customer.subscription.pending_update_expired",
      "customer.subscription.trial_will_end",
    ]
  ) {
    assert.deepEqual(
      subscriptionOf(handled(type, { id: "sub_3", metadata: { userId: USER_ID } })),
      { subscriptionId: "sub_3", userId: USER_ID },
      type,
    );
  }
});

Deno.test("subscriptionOf reads an invoice's subscription from its parent", () => {
  for (
    const type of ["invoice.paid", "invoice.payment_failed", "invoice.payment_action_required"]
  ) {
    const invoice = handled(type, {
      parent: {
        type: "subscription_details",
        subscription_details: { subscription: "sub_4", metadata: { userId: USER_ID } },
      },
    });
    assert.deepEqual(subscriptionOf(invoice), { subscriptionId: "sub_4", userId: USER_ID }, type);
  }
  assert.equal(subscriptionOf(handled("invoice.paid", { parent: null })), null);
});

Deno.test("isHandled refuses event types the webhook does not apply", () => {
  assert.equal(isHandled(event("customer.created", { id: "cus_1" })), false);
  assert.equal(isHandled(event("invoice.created", { parent: null })), false);
  assert.equal(isHandled(event("invoice.paid", { parent: null })), true);
});

Deno.test("subjectOf names the customer of an entitlement summary and of a deletion", () => {
  assert.deepEqual(
    subjectOf(handled("entitlements.active_entitlement_summary.updated", { customer: "cus_5" })),
    { kind: "entitlements", customerId: "cus_5" },
  );
  assert.deepEqual(
    subjectOf(handled("customer.deleted", { id: "cus_6", object: "customer" })),
    { kind: "deleted_customer", customerId: "cus_6" },
  );
  assert.equal(
    subjectOf(handled("entitlements.active_entitlement_summary.updated", { customer: null })),
    null,
  );
  assert.equal(subscriptionOf(handled("customer.deleted", { id: "cus_6" })), null);
});

Deno.test("subjectOf names a price with its lookup key before and after a change, and a product", () => {
  const price = { id: "price_1", product: "prod_1", lookup_key: "pro_monthly" };
  assert.deepEqual(subjectOf(handled("price.created", price)), {
    kind: "plan",
    plan: { priceId: "price_1", productId: "prod_1", lookupKeys: ["pro_monthly"] },
  });
  const moved = {
    ...event("price.updated", { ...price, lookup_key: null }),
    data: { object: { ...price, lookup_key: null }, previous_attributes: { lookup_key: "old" } },
  } as unknown as HandledEvent;
  assert.deepEqual(subjectOf(moved), {
    kind: "plan",
    plan: { priceId: "price_1", productId: "prod_1", lookupKeys: ["old"] },
  });
  assert.deepEqual(subjectOf(handled("price.deleted", { ...price, product: { id: "prod_2" } })), {
    kind: "plan",
    plan: { priceId: "price_1", productId: "prod_2", lookupKeys: ["pro_monthly"] },
  });
  for (const type of ["product.updated", "product.deleted"]) {
    assert.deepEqual(subjectOf(handled(type, { id: "prod_3" })), {
      kind: "plan",
      plan: { priceId: null, productId: "prod_3", lookupKeys: [] },
    }, type);
  }
});

Deno.test("the handled types fit in one filter of Stripe's event list (20 at most)", () => {
  assert.ok(HANDLED_EVENT_TYPES.length <= 20, `${HANDLED_EVENT_TYPES.length} types`);
});

Deno.test("the webhook handles exactly the event types the spec lists", () => {
  assert.equal(new Set(HANDLED_EVENT_TYPES).size, HANDLED_EVENT_TYPES.length, "a type is repeated");
  assert.deepEqual(new Set<string>(HANDLED_EVENT_TYPES), new Set(APPLIED_TYPES));
});
