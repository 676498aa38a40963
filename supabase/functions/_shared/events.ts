/** Which Stripe events the webhook handles, and what each one is about. */
import type { Stripe } from "./stripe.ts";
import { idOf } from "./subscription.ts";
import { toUserId } from "./user_id.ts";

/**
 * The event types the webhook applies; every other type is acknowledged and ignored. The switch
 * in {@link subjectOf} must have a case for each (the type checker holds it to that). Stripe's
 * event list takes at most 20 types in one filter, which the sync's replay sends.
 */
export const HANDLED_EVENT_TYPES = [
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
] as const satisfies readonly Stripe.Event.Type[];

/** An event type the webhook applies. */
export type HandledEventType = typeof HANDLED_EVENT_TYPES[number];

/** An event the webhook applies, its object narrowed by its type. */
export type HandledEvent = Extract<Stripe.Event, { type: HandledEventType }>;

/** True when the webhook applies `event`'s type. */
export function isHandled(event: Stripe.Event): event is HandledEvent {
  return HANDLED_EVENT_TYPES.some((type) => type === event.type);
}

/**
 * An invoice's subscription in API versions before 2025-03-31, which kept it at the top level.
 * Events read back from Stripe's event list (the sync's replay) are rendered in the version of
 * the account when they were made, not in the one pinned here.
 */
function legacySubscriptionOf(invoice: Stripe.Invoice): string | null {
  return "subscription" in invoice && typeof invoice.subscription === "string"
    ? invoice.subscription
    : null;
}

/** The subscription an event is about, and the user it names, if any. */
export interface SubscriptionRef {
  subscriptionId: string;
  userId: string | null;
}

/** A price or product of the catalog that an event is about. */
export interface PlanRef {
  priceId: string | null;
  productId: string | null;
  /** The price's lookup key, and the one it had before the change (a key moved to another price). */
  lookupKeys: string[];
}

/**
 * What an event is about, which decides how it is applied and which lock it takes: one
 * subscription, one customer's entitlements, a customer deleted at Stripe, or the plan catalog.
 */
export type EventSubject =
  | { kind: "subscription"; subscription: SubscriptionRef }
  | { kind: "entitlements"; customerId: string }
  | { kind: "deleted_customer"; customerId: string }
  | { kind: "plan"; plan: PlanRef };

function subscriptionSubject(subscriptionId: string | null, userId: string | null) {
  return subscriptionId === null
    ? null
    : { kind: "subscription", subscription: { subscriptionId, userId } } as const;
}

/** The lookup key a price had before an update, when the update changed it. */
function previousLookupKey(event: Stripe.PriceUpdatedEvent): string | null {
  const previous = event.data.previous_attributes as Record<string, unknown> | undefined;
  return typeof previous?.lookup_key === "string" ? previous.lookup_key : null;
}

function priceSubject(price: Stripe.Price, previousKey: string | null = null): EventSubject | null {
  if (typeof price.id !== "string") return null;
  const keys = [price.lookup_key, previousKey].filter((key): key is string =>
    typeof key === "string" && key !== ""
  );
  return {
    kind: "plan",
    plan: { priceId: price.id, productId: idOf(price.product), lookupKeys: [...new Set(keys)] },
  };
}

/**
 * What an event concerns: null for a handled type about nothing we track (a one-off payment's
 * checkout, an invoice outside any subscription, an object without an id).
 */
export function subjectOf(event: HandledEvent): EventSubject | null {
  switch (event.type) {
    case "checkout.session.completed": {
      const session = event.data.object;
      if (session.mode !== "subscription") return null;
      return subscriptionSubject(
        idOf(session.subscription),
        toUserId(session.metadata?.userId) ?? toUserId(session.client_reference_id),
      );
    }
    case "customer.subscription.created":
    case "customer.subscription.updated":
    case "customer.subscription.deleted":
    case "customer.subscription.paused":
    case "customer.subscription.resumed":
    case "customer.subscription.pending_update_applied":
    case "customer.subscription.pending_update_expired":
    case "customer.subscription.trial_will_end": {
      const subscription = event.data.object;
      return subscriptionSubject(
        typeof subscription.id === "string" ? subscription.id : null,
        toUserId(subscription.metadata?.userId),
      );
    }
    case "invoice.paid":
    case "invoice.payment_failed":
    case "invoice.payment_action_required": {
      const invoice = event.data.object;
      const details = invoice.parent?.subscription_details;
      return subscriptionSubject(
        idOf(details?.subscription) ?? legacySubscriptionOf(invoice),
        toUserId(details?.metadata?.userId),
      );
    }
    case "entitlements.active_entitlement_summary.updated": {
      const customerId = event.data.object.customer;
      return typeof customerId === "string" && customerId !== ""
        ? { kind: "entitlements", customerId }
        : null;
    }
    case "customer.deleted": {
      const customerId = event.data.object.id;
      return typeof customerId === "string" && customerId !== ""
        ? { kind: "deleted_customer", customerId }
        : null;
    }
    case "price.created":
    case "price.deleted":
      return priceSubject(event.data.object);
    case "price.updated":
      return priceSubject(event.data.object, previousLookupKey(event));
    case "product.updated":
    case "product.deleted": {
      const productId = event.data.object.id;
      return typeof productId === "string"
        ? { kind: "plan", plan: { priceId: null, productId, lookupKeys: [] } }
        : null;
    }
    default:
      return event satisfies never;
  }
}

/** The subscription an event is about, or null for any other subject (or none). */
export function subscriptionOf(event: HandledEvent): SubscriptionRef | null {
  const subject = subjectOf(event);
  return subject?.kind === "subscription" ? subject.subscription : null;
}
