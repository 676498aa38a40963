/** Which Stripe events the webhook handles, and what each one is about. */
import type { Stripe } from "./stripe.ts";
import { idOf } from "./subscription.ts";
import { toUserId } from "./user_id.ts";

/**
 * The event types the webhook applies; every other type is acknowledged and ignored. The switch
 * in {@link subscriptionOf} must have a case for each (the type checker holds it to that).
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

/**
 * Finds the subscription an event concerns: null for an event about none (a one-off payment's
 * checkout, an invoice outside any subscription).
 */
export function subscriptionOf(event: HandledEvent): SubscriptionRef | null {
  switch (event.type) {
    case "checkout.session.completed": {
      const session = event.data.object;
      const subscriptionId = idOf(session.subscription);
      if (session.mode !== "subscription" || subscriptionId === null) return null;
      return {
        subscriptionId,
        userId: toUserId(session.metadata?.userId) ?? toUserId(session.client_reference_id),
      };
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
      if (typeof subscription.id !== "string") return null;
      return { subscriptionId: subscription.id, userId: toUserId(subscription.metadata?.userId) };
    }
    case "invoice.paid":
    case "invoice.payment_failed":
    case "invoice.payment_action_required": {
      const invoice = event.data.object;
      const details = invoice.parent?.subscription_details;
      const subscriptionId = idOf(details?.subscription) ?? legacySubscriptionOf(invoice);
      if (subscriptionId === null) return null;
      return { subscriptionId, userId: toUserId(details?.metadata?.userId) };
    }
    default:
      return event satisfies never;
  }
}
