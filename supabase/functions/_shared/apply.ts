/**
 * Applying one Stripe event to the database, exactly once and with Stripe's current state: the
 * one path the webhook and the sync's replay share, so that they cannot disagree.
 */
import { applyEventOnce, type ApplyOutcome, type Database } from "./db.ts";
import { isHandled, subscriptionOf, type SubscriptionRef } from "./events.ts";
import { isMissingObject, type Stripe } from "./stripe.ts";
import { type ProfileUpdate, toProfileUpdate } from "./subscription.ts";

/** How an event ended: applied to the database, or acknowledged without a change. */
export type EventOutcome = ApplyOutcome | "ignored" | "unhandled";

/** What applying an event needs. */
export interface ApplyDeps {
  stripe: Stripe;
  db: Database;
}

/**
 * The subscription's state at Stripe now, with the event's user when the subscription names
 * none; "gone" when Stripe answers that it no longer has it.
 */
export async function readSubscription(
  stripe: Stripe,
  ref: SubscriptionRef,
): Promise<ProfileUpdate | "gone"> {
  let subscription: Stripe.Subscription;
  try {
    subscription = await stripe.subscriptions.retrieve(ref.subscriptionId);
  } catch (error) {
    if (isMissingObject(error)) return "gone";
    throw error;
  }
  const update = toProfileUpdate(subscription);
  return { ...update, userId: update.userId ?? ref.userId };
}

/**
 * True when applying `event` would record it in the ledger: a handled type about something
 * (a payment-mode checkout, say, is handled but about no subscription, and is not recorded).
 */
export function isRecorded(event: Stripe.Event): boolean {
  return isHandled(event) && subscriptionOf(event) !== null;
}

/**
 * Applies one verified event. The subscription is re-read from Stripe under a lock, so whatever
 * order, duplication or concurrency events arrive in, the profile ends at Stripe's current state.
 */
export async function applyEvent(event: Stripe.Event, deps: ApplyDeps): Promise<EventOutcome> {
  if (!isHandled(event)) return "unhandled";
  const ref = subscriptionOf(event);
  if (ref === null) return "ignored";
  return await applyEventOnce(
    deps.db,
    event,
    ref.subscriptionId,
    () => readSubscription(deps.stripe, ref),
  );
}
