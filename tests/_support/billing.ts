/**
 * A profile against Stripe: a user who subscribed, the billing columns the profile holds and the
 * ones the subscription at Stripe defines (the one comparison every test uses), and the ledger
 * of applied events.
 */
import assert from "node:assert/strict";
import type { CompleteCheckoutOptions } from "../../dev/stripe/mod.ts";
import type { Stripe } from "../../supabase/functions/_shared/stripe.ts";
import { idOf } from "../../supabase/functions/_shared/subscription.ts";
import { type CompletedCheckout, completeOpenCheckout } from "./emulator.ts";
import type { Harness, ProfileRow, TestUser } from "./harness.ts";

/** A user who went through checkout and paid; none of the events is delivered yet. */
export interface Subscribed extends CompletedCheckout {
  user: TestUser;
}

/**
 * Opens a checkout through the handler for a new user (or `existing`) and pays it at Stripe.
 * The webhook has seen nothing of it: the test delivers what it means to.
 */
export async function subscribe(
  h: Harness,
  options: CompleteCheckoutOptions = {},
  existing?: TestUser,
): Promise<Subscribed> {
  const user = existing ?? await h.createUser();
  const response = await h.post(h.checkout, user.token);
  assert.equal(response.status, 200);
  await response.body?.cancel();
  return { user, ...completeOpenCheckout(h, user.id, options) };
}

/**
 * The event types the webhook applies and records in its ledger (the spec's table), written out
 * here rather than imported so that the product's list is checked against it.
 */
export const APPLIED_TYPES: readonly string[] = [
  "checkout.session.completed",
  "customer.subscription.created",
  "customer.subscription.updated",
  "customer.subscription.deleted",
  "customer.subscription.paused",
  "customer.subscription.resumed",
  "customer.subscription.pending_update_applied",
  "customer.subscription.pending_update_expired",
  "customer.subscription.trial_will_end",
  "invoice.paid",
  "invoice.payment_failed",
  "invoice.payment_action_required",
  "entitlements.active_entitlement_summary.updated",
  "customer.deleted",
  "price.created",
  "price.updated",
  "price.deleted",
  "product.updated",
  "product.deleted",
];

/** The ledger rows of one event: 1 once applied, 0 before (or for a type it does not apply). */
export async function ledgerCount(h: Harness, eventId: string): Promise<number> {
  const [row] = await h.sql<{ n: number }[]>`
    select count(*)::int as n from public.stripe_events where id = ${eventId}`;
  return row?.n ?? -1;
}

/** Problems with the ledger: a handled event without its one row, or an unhandled one with a row. */
export async function ledgerProblems(
  h: Harness,
  events: readonly Stripe.Event[],
): Promise<string[]> {
  const ids = [...new Set(events.map((event) => event.id))];
  const rows = await h.sql<{ id: string; n: number }[]>`
    select id, count(*)::int as n from public.stripe_events where id = any(${ids}) group by id`;
  const counts = new Map(rows.map((row) => [row.id, row.n]));
  const problems: string[] = [];
  for (const event of new Map(events.map((e) => [e.id, e])).values()) {
    const expected = APPLIED_TYPES.includes(event.type) ? 1 : 0;
    const found = counts.get(event.id) ?? 0;
    if (found !== expected) {
      problems.push(`${event.id} ${event.type}: ${found} ledger rows, expected ${expected}`);
    }
  }
  return problems;
}

/** The billing columns of a profile, times in Stripe's unit (whole seconds since the epoch). */
export interface Billing {
  subscription_status: string | null;
  stripe_subscription_id: string | null;
  stripe_customer_id: string | null;
  price_id: string | null;
  current_period_end: number | null;
  cancel_at_period_end: boolean;
  cancel_at: number | null;
  canceled_at: number | null;
  trial_end: number | null;
  subscription_created_at: number | null;
}

function secondsOf(date: Date | null): number | null {
  return date === null ? null : date.getTime() / 1000;
}

/** The billing columns a subscription defines, computed here from Stripe's object. */
export function expectedBilling(subscription: Stripe.Subscription): Billing {
  const items = subscription.items.data;
  const ends = items.map((item) => item.current_period_end);
  return {
    subscription_status: subscription.status,
    stripe_subscription_id: subscription.id,
    stripe_customer_id: idOf(subscription.customer),
    price_id: items[0]?.price.id ?? null,
    current_period_end: ends.length === 0 ? null : Math.max(...ends),
    cancel_at_period_end: subscription.cancel_at_period_end,
    cancel_at: subscription.cancel_at,
    canceled_at: subscription.canceled_at,
    trial_end: subscription.trial_end,
    subscription_created_at: subscription.created,
  };
}

/** The billing columns the profile holds. */
export async function actualBilling(h: Harness, userId: string): Promise<Billing> {
  const p: ProfileRow = await h.profile(userId);
  return {
    subscription_status: p.subscription_status,
    stripe_subscription_id: p.stripe_subscription_id,
    stripe_customer_id: p.stripe_customer_id,
    price_id: p.price_id,
    current_period_end: secondsOf(p.current_period_end),
    cancel_at_period_end: p.cancel_at_period_end,
    cancel_at: secondsOf(p.cancel_at),
    canceled_at: secondsOf(p.canceled_at),
    trial_end: secondsOf(p.trial_end),
    subscription_created_at: secondsOf(p.subscription_created_at),
  };
}

/** The profile's billing columns against the subscription's state at Stripe, as text. */
export async function profileProblem(
  h: Harness,
  userId: string,
  subscriptionId: string,
): Promise<string | null> {
  const expected = expectedBilling(await h.stripe.subscriptions.retrieve(subscriptionId));
  const actual = await actualBilling(h, userId);
  const keys = Object.keys(expected) as (keyof Billing)[];
  const diff = keys.filter((key) => actual[key] !== expected[key]).map((key) =>
    `${key}: profile ${JSON.stringify(actual[key])}, Stripe ${JSON.stringify(expected[key])}`
  );
  return diff.length === 0
    ? null
    : `user ${userId} differs from ${subscriptionId}: ${diff.join("; ")}`;
}

/** The lookup keys of a customer's active entitlements at Stripe now, sorted. */
export async function stripeEntitlements(h: Harness, customerId: string): Promise<string[]> {
  const keys: string[] = [];
  for await (
    const entitlement of h.stripe.entitlements.activeEntitlements.list({
      customer: customerId,
      limit: 100,
    })
  ) {
    keys.push(entitlement.lookup_key);
  }
  return keys.sort();
}

/** The profile's entitlements against its customer's active entitlements at Stripe, as text. */
export async function entitlementsProblem(
  h: Harness,
  userId: string,
  customerId: string,
): Promise<string | null> {
  const held = [...(await h.profile(userId)).entitlements].sort();
  const expected = await stripeEntitlements(h, customerId);
  return JSON.stringify(held) === JSON.stringify(expected)
    ? null
    : `user ${userId} holds entitlements ${JSON.stringify(held)}, Stripe ${
      JSON.stringify(expected)
    } for ${customerId}`;
}

/** Asserts the profile holds the subscription's current state at Stripe, every billing column. */
export async function assertSynced(
  h: Harness,
  userId: string,
  subscriptionId: string,
): Promise<void> {
  assert.equal(await profileProblem(h, userId, subscriptionId), null);
}
