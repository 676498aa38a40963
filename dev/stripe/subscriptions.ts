/**
 * Subscriptions: what Stripe does to one over its life. Each change emits the events Stripe
 * sends for it, in Stripe's order; the customer's entitlement summary follows any change of
 * what the customer may use.
 */
import type { Stripe } from "../../supabase/functions/_shared/stripe.ts";
import { billCycle, failPayment, openInvoice, type RenewOptions } from "./billing.ts";
import { isEnded, subscriptionItemObject, subscriptionObject } from "./billing_objects.ts";
import { captureFeatures, refreshEntitlements } from "./entitlements.ts";
import { parameterInvalid, StripeApiError } from "./errors.ts";
import { addInterval, newId, planObject, snapshot } from "./objects.ts";
import { mergeMetadata } from "./params.ts";
import type { StripeState } from "./state.ts";

/** Statuses of a subscription that is still running. */
export const LIVE_STATUSES: readonly string[] = [
  "active",
  "trialing",
  "past_due",
  "unpaid",
  "paused",
];

const DAY = 24 * 60 * 60;

/** What a trial's end does without a payment method. */
export type MissingPaymentMethod =
  Stripe.Subscription.TrialSettings.EndBehavior.MissingPaymentMethod;

/** The end of a period of `price` starting at `start`. */
export function periodEndFrom(price: Stripe.Price, start: number): number {
  return addInterval(
    start,
    price.recurring?.interval ?? "month",
    price.recurring?.interval_count ?? 1,
  );
}

/** The end of the subscription's current period (its first item's). */
export function periodEnd(subscription: Stripe.Subscription): number {
  return subscription.items.data[0]?.current_period_end ?? subscription.created;
}

/** The live subscription of a customer, else its most recent one. */
export function subscriptionOf(
  state: StripeState,
  customerId: string,
): Stripe.Subscription | undefined {
  const all = state.subscriptionsOf(customerId);
  return all.findLast((sub) => LIVE_STATUSES.includes(sub.status)) ?? all.at(-1);
}

/** What a new subscription is made of. */
export interface NewSubscription {
  customer: string;
  lineItems: { price: string; quantity: number }[];
  metadata: Record<string, string>;
  trialDays: number;
  status?: Stripe.Subscription.Status;
  missingPaymentMethod?: MissingPaymentMethod | null;
  automaticTax?: boolean;
  paymentMethod: string | null;
  discounts?: string[];
  /** When the subscription started (default now). */
  created?: number;
}

/** Creates a subscription, trialing when given trial days; the caller emits its events. */
export function createSubscription(
  state: StripeState,
  input: NewSubscription,
): Stripe.Subscription {
  const now = input.created ?? state.now();
  const id = newId("sub", 24);
  const trialEnd = input.trialDays > 0 ? now + input.trialDays * DAY : null;
  const items = input.lineItems.map((line) => {
    const price = state.price(line.price);
    return subscriptionItemObject({
      id: newId("si"),
      subscription: id,
      price,
      quantity: line.quantity,
      periodStart: now,
      periodEnd: trialEnd ?? periodEndFrom(price, now),
      created: now,
    });
  });
  const subscription = subscriptionObject({
    id,
    customer: input.customer,
    currency: items[0]?.price.currency ?? "usd",
    items,
    metadata: { ...input.metadata },
    status: input.status ?? (trialEnd ? "trialing" : "active"),
    trialStart: trialEnd ? now : null,
    trialEnd,
    created: now,
    livemode: state.livemode,
    missingPaymentMethod: input.missingPaymentMethod ?? undefined,
    automaticTax: input.automaticTax,
    defaultPaymentMethod: input.paymentMethod,
    discounts: input.discounts,
  });
  state.addSubscription(subscription);
  captureFeatures(state, subscription);
  return subscription;
}

// ---- changes the API may ask for ---------------------------------------------------------------

/** Changes the API's `POST /v1/subscriptions/:id` may apply. */
export interface SubscriptionChanges {
  cancelAtPeriodEnd?: boolean;
  cancelAt?: number | null;
  pauseCollection?: {
    behavior: Stripe.Subscription.PauseCollection.Behavior;
    resumesAt: number | null;
  } | null;
  /** Stripe's metadata update: keys merge, null values delete, null clears. */
  metadata?: Record<string, string | null> | null;
  price?: string;
  quantity?: number;
  trialEndNow?: boolean;
}

function requireStatus(
  subscription: Stripe.Subscription,
  allowed: readonly string[],
  action: string,
): void {
  if (!allowed.includes(subscription.status)) {
    throw new StripeApiError(400, {
      type: "invalid_request_error",
      message:
        `Cannot ${action} a subscription with status '${subscription.status}' (subscription '${subscription.id}')`,
    });
  }
}

function requireNotCanceled(subscription: Stripe.Subscription): void {
  if (isEnded(subscription)) {
    throw new StripeApiError(400, {
      type: "invalid_request_error",
      code: "invalid_canceled_subscription_fields",
      message: "A canceled subscription can only update its cancellation_details and metadata.",
    });
  }
}

function markCancellation(sub: Stripe.Subscription, canceling: boolean, now: number): void {
  sub.canceled_at = canceling ? now : null;
  sub.cancellation_details = {
    comment: null,
    feedback: null,
    feedback_option: null,
    reason: canceling ? "cancellation_requested" : null,
  };
}

function movePrice(state: StripeState, sub: Stripe.Subscription, price: Stripe.Price): void {
  for (const item of sub.items.data) {
    item.price = price;
    item.plan = planObject(price);
  }
  captureFeatures(state, sub);
}

function endTrialFields(sub: Stripe.Subscription, now: number): void {
  sub.status = "active";
  sub.trial_end = now;
  sub.billing_cycle_anchor = now;
  for (const item of sub.items.data) {
    item.current_period_start = now;
    item.current_period_end = periodEndFrom(item.price, now);
  }
}

/** Applies API-style changes in one `customer.subscription.updated`. */
export function updateSubscription(
  state: StripeState,
  id: string,
  changes: SubscriptionChanges,
): Stripe.Subscription {
  const subscription = state.subscription(id);
  const onlyMetadata = Object.keys(changes).every((key) => key === "metadata");
  if (!onlyMetadata) requireNotCanceled(subscription);
  const price = changes.price === undefined ? undefined : state.price(changes.price, "items");
  if (price && !price.recurring) {
    throw parameterInvalid(
      "items[0][price]",
      "The price specified is set to `type=one_time` but this field only accepts prices with `type=recurring`.",
    );
  }
  const metadata = changes.metadata === undefined
    ? undefined
    : mergeMetadata(subscription.metadata, changes.metadata);
  let trialEnded = false;
  state.update("customer.subscription.updated", subscription, (sub) => {
    const now = state.now();
    if (metadata !== undefined) sub.metadata = metadata;
    if (changes.cancelAtPeriodEnd !== undefined) {
      sub.cancel_at_period_end = changes.cancelAtPeriodEnd;
      sub.cancel_at = changes.cancelAtPeriodEnd ? periodEnd(sub) : null;
      markCancellation(sub, changes.cancelAtPeriodEnd, now);
    }
    if (changes.cancelAt !== undefined) {
      sub.cancel_at = changes.cancelAt;
      sub.cancel_at_period_end = changes.cancelAt !== null && changes.cancelAt === periodEnd(sub);
      markCancellation(sub, changes.cancelAt !== null, now);
    }
    if (changes.pauseCollection !== undefined) {
      sub.pause_collection = changes.pauseCollection === null ? null : {
        behavior: changes.pauseCollection.behavior,
        resumes_at: changes.pauseCollection.resumesAt,
      };
    }
    if (price) movePrice(state, sub, price);
    if (changes.quantity !== undefined) {
      for (const item of sub.items.data) item.quantity = changes.quantity;
    }
    if (changes.trialEndNow && sub.status === "trialing") {
      endTrialFields(sub, now);
      trialEnded = true;
    }
  });
  if (trialEnded) {
    const now = state.now();
    state.trialNotices.delete(id);
    captureFeatures(state, subscription);
    billCycle(state, subscription, "subscription_update", {}, { start: now, end: now });
  }
  return subscription;
}

/** Turns the cancel-at-period-end flag on or off. */
export function cancelAtPeriodEnd(
  state: StripeState,
  id: string,
  enabled: boolean,
): Stripe.Subscription {
  return updateSubscription(state, id, { cancelAtPeriodEnd: enabled });
}

/** Schedules (or with null, unschedules) the cancellation at a time. */
export function cancelAt(state: StripeState, id: string, at: number | null): Stripe.Subscription {
  return updateSubscription(state, id, { cancelAt: at });
}

/** Cancels immediately (`customer.subscription.deleted`). */
export function cancelNow(
  state: StripeState,
  id: string,
  reason: Stripe.Subscription.CancellationDetails.Reason = "cancellation_requested",
): Stripe.Subscription {
  const subscription = state.subscription(id);
  requireNotCanceled(subscription);
  const now = state.now();
  subscription.status = "canceled";
  subscription.ended_at = now;
  subscription.canceled_at = subscription.canceled_at ?? now;
  subscription.cancellation_details = {
    comment: null,
    feedback: null,
    feedback_option: null,
    reason,
  };
  state.failingSubscriptions.delete(id);
  state.emit("customer.subscription.deleted", subscription);
  return subscription;
}

/** Makes the next payment attempt of this subscription fail. */
export function failNextPayment(state: StripeState, id: string): Stripe.Subscription {
  const subscription = state.subscription(id);
  requireNotCanceled(subscription);
  state.failingSubscriptions.add(id);
  return subscription;
}

/**
 * Advances to the next period and bills it: `customer.subscription.updated` (new period),
 * `invoice.created`, `invoice.finalized`, then `invoice.paid` + `invoice.payment_succeeded`,
 * or `invoice.payment_failed` (or `invoice.payment_action_required`) and
 * `customer.subscription.updated` to `past_due`. A subscription set to cancel by the period's
 * end is canceled instead (`customer.subscription.deleted`).
 */
export function renew(
  state: StripeState,
  id: string,
  options: RenewOptions = {},
): Stripe.Subscription {
  const subscription = state.subscription(id);
  requireStatus(subscription, ["active", "trialing", "past_due", "unpaid"], "renew");
  const end = periodEnd(subscription);
  const scheduled = subscription.cancel_at;
  if (subscription.cancel_at_period_end || (scheduled !== null && scheduled <= end)) {
    return cancelNow(state, id);
  }
  const previousStart = subscription.items.data[0]?.current_period_start ?? end;
  state.update("customer.subscription.updated", subscription, (sub) => {
    for (const item of sub.items.data) {
      item.current_period_start = item.current_period_end;
      item.current_period_end = periodEndFrom(item.price, item.current_period_end);
    }
    if (sub.status === "trialing") sub.status = "active";
    // A new period grants what the products grant now.
    captureFeatures(state, sub);
  });
  billCycle(state, subscription, "subscription_cycle", options, { start: previousStart, end });
  return subscription;
}

/**
 * The payment needs the customer's authentication: `invoice.payment_action_required` for the
 * open invoice, or for a renewal when none is open.
 */
export function requireAction(state: StripeState, id: string): Stripe.Subscription {
  const subscription = state.subscription(id);
  const invoice = openInvoice(state, subscription);
  if (!invoice) return renew(state, id, { requireAction: true });
  failPayment(state, invoice, true);
  return subscription;
}

/** Pauses the subscription: status `paused` (`customer.subscription.paused`, `.updated`). */
export function pause(state: StripeState, id: string): Stripe.Subscription {
  const subscription = state.subscription(id);
  requireStatus(subscription, ["active", "trialing", "past_due", "unpaid"], "pause");
  const previous = { status: subscription.status, status_details: null };
  subscription.status = "paused";
  subscription.status_details = {
    paused: {
      subscription: { type: "pause_requested" },
      transitioned_at: state.now(),
      type: "subscription",
    },
  };
  state.emit("customer.subscription.paused", subscription);
  state.emit("customer.subscription.updated", subscription, previous);
  return subscription;
}

/** Resumes a paused subscription with a new period from now (`.resumed`, `.updated`). */
export function resume(state: StripeState, id: string): Stripe.Subscription {
  const subscription = state.subscription(id);
  requireStatus(subscription, ["paused"], "resume");
  const previous = snapshot({
    status: subscription.status,
    status_details: subscription.status_details,
    items: subscription.items,
    billing_cycle_anchor: subscription.billing_cycle_anchor,
  });
  const now = state.now();
  subscription.status = "active";
  delete subscription.status_details;
  subscription.billing_cycle_anchor = now;
  for (const item of subscription.items.data) {
    item.current_period_start = now;
    item.current_period_end = periodEndFrom(item.price, now);
  }
  captureFeatures(state, subscription);
  state.emit("customer.subscription.resumed", subscription);
  state.emit("customer.subscription.updated", subscription, previous);
  return subscription;
}

/** Moves every item to another price (`customer.subscription.updated`). */
export function changePrice(state: StripeState, id: string, priceId: string): Stripe.Subscription {
  return updateSubscription(state, id, { price: priceId });
}

/** Ends a trial now and bills the first period (`customer.subscription.updated`, invoice events). */
export function endTrial(state: StripeState, id: string): Stripe.Subscription {
  const subscription = state.subscription(id);
  requireStatus(subscription, ["trialing"], "end the trial of");
  return updateSubscription(state, id, { trialEndNow: true });
}

/** Stripe's three-days-before notice (`customer.subscription.trial_will_end`). */
export function trialWillEnd(state: StripeState, id: string): Stripe.Subscription {
  const subscription = state.subscription(id);
  requireStatus(subscription, ["trialing"], "announce the trial end of");
  state.trialNotices.add(id);
  state.emit("customer.subscription.trial_will_end", subscription);
  return subscription;
}

/**
 * The trial's end, reached by the clock. With a payment method the first period is billed and
 * the subscription turns `active`. Without one, `trial_settings.end_behavior.missing_payment_method`
 * decides: `cancel` cancels it, `pause` pauses it without an invoice, and `create_invoice`
 * bills the period, which cannot be paid, so it turns `past_due`.
 */
export function reachTrialEnd(
  state: StripeState,
  id: string,
  hasPaymentMethod: boolean,
): Stripe.Subscription {
  const subscription = state.subscription(id);
  requireStatus(subscription, ["trialing"], "end the trial of");
  const end = subscription.trial_end ?? state.now();
  state.trialNotices.delete(id);
  const behavior = subscription.trial_settings?.end_behavior.missing_payment_method;
  if (!hasPaymentMethod && behavior === "cancel") {
    return cancelNow(state, id, "cancellation_requested");
  }
  if (!hasPaymentMethod && behavior === "pause") {
    const previous = { status: subscription.status, status_details: null };
    subscription.status = "paused";
    subscription.status_details = {
      paused: {
        subscription: { type: "trial_end_without_payment_method" },
        transitioned_at: end,
        type: "subscription",
      },
    };
    state.emit("customer.subscription.paused", subscription);
    state.emit("customer.subscription.updated", subscription, previous);
    return subscription;
  }
  state.update("customer.subscription.updated", subscription, (sub) => {
    sub.status = "active";
    sub.billing_cycle_anchor = end;
    for (const item of sub.items.data) {
      item.current_period_start = end;
      item.current_period_end = periodEndFrom(item.price, end);
    }
    captureFeatures(state, sub);
  });
  billCycle(state, subscription, "subscription_cycle", {}, { start: end, end });
  return subscription;
}

/** A pending update was applied (`customer.subscription.pending_update_applied`). */
export function pendingUpdateApplied(state: StripeState, id: string): Stripe.Subscription {
  const subscription = state.subscription(id);
  const previous = {
    pending_update: {
      billing_cycle_anchor: null,
      cancel_at_period_end: null,
      discount: null,
      discounts: null,
      expires_at: state.now() + 23 * 60 * 60,
      metadata: null,
      subscription_items: snapshot(subscription.items.data),
      trial_end: null,
      trial_from_plan: null,
    },
  };
  subscription.pending_update = null;
  state.emit("customer.subscription.pending_update_applied", subscription, previous);
  return subscription;
}

/** A pending update expired unpaid (`customer.subscription.pending_update_expired`). */
export function pendingUpdateExpired(state: StripeState, id: string): Stripe.Subscription {
  const subscription = state.subscription(id);
  subscription.pending_update = null;
  state.emit("customer.subscription.pending_update_expired", subscription);
  return subscription;
}

// ---- edits by hand -----------------------------------------------------------------------------

/** What a person may change in the Dashboard. */
export interface HandEdit {
  status?: Stripe.Subscription.Status;
  price?: string;
  quantity?: number;
  cancelAtPeriodEnd?: boolean;
  cancelAt?: number | null;
  metadata?: Record<string, string | null>;
  currentPeriodEnd?: number;
  trialEnd?: number | null;
}

/**
 * Changes a subscription at Stripe without any event, as a person editing it in the Dashboard
 * while the webhook endpoint is misconfigured would: only a sync can notice.
 */
export function handEdit(state: StripeState, id: string, edit: HandEdit): Stripe.Subscription {
  const subscription = state.subscription(id);
  const price = edit.price === undefined ? undefined : state.price(edit.price, "price");
  const metadata = edit.metadata === undefined
    ? undefined
    : mergeMetadata(subscription.metadata, edit.metadata);
  state.silently(() => {
    const now = state.now();
    if (edit.status !== undefined) {
      subscription.status = edit.status;
      if (edit.status === "canceled") {
        subscription.ended_at = subscription.ended_at ?? now;
        subscription.canceled_at = subscription.canceled_at ?? now;
      }
    }
    if (price) movePrice(state, subscription, price);
    if (edit.quantity !== undefined) {
      for (const item of subscription.items.data) item.quantity = edit.quantity;
    }
    if (edit.cancelAtPeriodEnd !== undefined) {
      subscription.cancel_at_period_end = edit.cancelAtPeriodEnd;
      subscription.cancel_at = edit.cancelAtPeriodEnd ? periodEnd(subscription) : null;
      markCancellation(subscription, edit.cancelAtPeriodEnd, now);
    }
    if (edit.cancelAt !== undefined) {
      subscription.cancel_at = edit.cancelAt;
      subscription.cancel_at_period_end = edit.cancelAt !== null &&
        edit.cancelAt === periodEnd(subscription);
      markCancellation(subscription, edit.cancelAt !== null, now);
    }
    if (metadata !== undefined) subscription.metadata = metadata;
    if (edit.currentPeriodEnd !== undefined) {
      for (const item of subscription.items.data) {
        item.current_period_end = edit.currentPeriodEnd;
      }
    }
    if (edit.trialEnd !== undefined) subscription.trial_end = edit.trialEnd;
    refreshEntitlements(state, String(subscription.customer));
  });
  return subscription;
}
