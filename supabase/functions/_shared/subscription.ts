/** Subscription state: what counts as live, and the pure mapping from Stripe to a profile row. */
import type { Stripe } from "./stripe.ts";
import { toUserId } from "./user_id.ts";

/** Statuses of a subscription the user still holds; checkout refuses a second one. */
export const LIVE_STATUSES: readonly Stripe.Subscription.Status[] = [
  "active",
  "trialing",
  "past_due",
  "unpaid",
  "paused",
];

/** True when `status` is one of {@link LIVE_STATUSES}. */
export function isLive(status: string | null | undefined): boolean {
  return LIVE_STATUSES.some((live) => live === status);
}

/** The billing columns of a profile, as one subscription at Stripe defines them. */
export interface ProfileUpdate {
  subscriptionId: string;
  customerId: string;
  status: Stripe.Subscription.Status;
  priceId: string | null;
  currentPeriodEnd: Date | null;
  cancelAtPeriodEnd: boolean;
  cancelAt: Date | null;
  canceledAt: Date | null;
  trialEnd: Date | null;
  createdAt: Date;
  /** The user the subscription was bought for (its `metadata.userId`), when it names a valid one. */
  userId: string | null;
}

/** Converts Stripe's seconds since the epoch to a Date; null stays null. */
export function fromUnixSeconds(seconds: number | null | undefined): Date | null {
  return typeof seconds === "number" ? new Date(seconds * 1000) : null;
}

/** The id of an expandable field, whether Stripe sent the id or the object. */
export function idOf(field: string | { id: string } | null | undefined): string | null {
  if (field === null || field === undefined) return null;
  return typeof field === "string" ? field : field.id;
}

/**
 * Maps a subscription to the profile's billing columns. Periods live on the items; the profile
 * keeps the latest end among them.
 */
export function toProfileUpdate(subscription: Stripe.Subscription): ProfileUpdate {
  const items = subscription.items.data;
  const periodEnds = items.map((item) => item.current_period_end);
  const customerId = idOf(subscription.customer);
  if (customerId === null) throw new Error(`Subscription "${subscription.id}" has no customer`);
  return {
    subscriptionId: subscription.id,
    customerId,
    status: subscription.status,
    priceId: items[0]?.price.id ?? null,
    currentPeriodEnd: periodEnds.length > 0 ? fromUnixSeconds(Math.max(...periodEnds)) : null,
    cancelAtPeriodEnd: subscription.cancel_at_period_end,
    cancelAt: fromUnixSeconds(subscription.cancel_at),
    canceledAt: fromUnixSeconds(subscription.canceled_at),
    trialEnd: fromUnixSeconds(subscription.trial_end),
    createdAt: new Date(subscription.created * 1000),
    userId: toUserId(subscription.metadata?.userId),
  };
}

/** What ranks a subscription on a profile: whether it is live, when it was made, its id. */
export interface SubscriptionRank {
  status: string | null;
  createdAt: Date | null;
  subscriptionId: string | null;
}

/**
 * True when `candidate` ranks above `held` for one profile: live before ended, then newest, then
 * (for two made in the same second) the greater id. The database's write of a subscription
 * (`_shared/db.ts`) ranks with the same rule, in SQL.
 */
export function outranks(candidate: SubscriptionRank, held: SubscriptionRank): boolean {
  const live = Number(isLive(candidate.status)) - Number(isLive(held.status));
  if (live !== 0) return live > 0;
  const created = (candidate.createdAt?.getTime() ?? -Infinity) -
    (held.createdAt?.getTime() ?? -Infinity);
  if (created !== 0 && !Number.isNaN(created)) return created > 0;
  return (candidate.subscriptionId ?? "") > (held.subscriptionId ?? "");
}
