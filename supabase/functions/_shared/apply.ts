/**
 * Applying one Stripe event to the database, exactly once and with Stripe's current state: the
 * one path the webhook and the sync's replay share, so that they cannot disagree.
 */
import { applyEventOnce, type ApplyOutcome, type Database } from "./db.ts";
import { deleteCustomerOnce, writeEntitlements } from "./db_customers.ts";
import { applyPlanEventOnce } from "./db_plans.ts";
import { readEntitlements } from "./entitlements.ts";
import { isHandled, subjectOf, type SubscriptionRef } from "./events.ts";
import { type PlanSettings, readCatalog } from "./plans.ts";
import { isMissingObject, type Stripe } from "./stripe.ts";
import { type ProfileUpdate, toProfileUpdate } from "./subscription.ts";

/** How an event ended: applied to the database, or acknowledged without a change. */
export type EventOutcome = ApplyOutcome | "ignored" | "unhandled";

/** What applying an event needs. */
export interface ApplyDeps {
  stripe: Stripe;
  db: Database;
  /** The allowed plans, which decide the price and product events that refresh the catalog. */
  plans: PlanSettings;
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
  return isHandled(event) && subjectOf(event) !== null;
}

/**
 * Applies one verified event. What it is about is re-read from Stripe under that thing's lock
 * (the subscription, the customer's entitlements, the catalog), so whatever order, duplication
 * or concurrency events arrive in, the database ends at Stripe's current state.
 */
export async function applyEvent(event: Stripe.Event, deps: ApplyDeps): Promise<EventOutcome> {
  if (!isHandled(event)) return "unhandled";
  const subject = subjectOf(event);
  if (subject === null) return "ignored";
  switch (subject.kind) {
    case "subscription":
      return await applyEventOnce(
        deps.db,
        event,
        subject.subscription.subscriptionId,
        () => readSubscription(deps.stripe, subject.subscription),
      );
    case "entitlements":
      return await writeEntitlements(
        deps.db,
        subject.customerId,
        () => readEntitlements(deps.stripe, subject.customerId),
        event,
      );
    case "deleted_customer":
      return await deleteCustomerOnce(deps.db, event, subject.customerId);
    case "plan":
      return await applyPlanEventOnce(
        deps.db,
        event,
        subject.plan,
        deps.plans,
        () => readCatalog(deps.stripe, deps.plans),
      );
  }
}
