/**
 * Reconcile: every subscription at Stripe is compared with the profile it belongs to, by the
 * webhook's own ranking, and a profile that differs is repaired from a fresh read under the
 * subscription's lock, then gets its customer's entitlements afresh. Nothing is read again or
 * written for a profile that matches. A subscription of a customer deleted at Stripe belongs to
 * no profile any more (the deletion left the profile without it).
 */
import { readSubscription } from "../_shared/apply.ts";
import {
  type ApplyOutcome,
  type Database,
  type ProfileBilling,
  profilesForSubscriptions,
  repairSubscription,
} from "../_shared/db.ts";
import { writeEntitlements } from "../_shared/db_customers.ts";
import { readEntitlements } from "../_shared/entitlements.ts";
import type { Stripe } from "../_shared/stripe.ts";
import { outranks, type ProfileUpdate, toProfileUpdate } from "../_shared/subscription.ts";

/** One billing column that differs between a profile and Stripe. */
export interface Drift {
  userId: string;
  subscriptionId: string;
  field: string;
  database: string | boolean | null;
  stripe: string | boolean | null;
}

type Comparable = string | boolean | Date | null;

function shown(value: Comparable): string | boolean | null {
  return value instanceof Date ? value.toISOString() : value;
}

function same(a: Comparable, b: Comparable): boolean {
  if (a instanceof Date || b instanceof Date) {
    return a instanceof Date && b instanceof Date && a.getTime() === b.getTime();
  }
  return a === b;
}

/** The billing columns of `profile` that differ from what `update` says they should hold. */
export function compareProfile(profile: ProfileBilling, update: ProfileUpdate): Drift[] {
  const pairs: [string, Comparable, Comparable][] = [
    ["stripe_subscription_id", profile.stripe_subscription_id, update.subscriptionId],
    ["stripe_customer_id", profile.stripe_customer_id, update.customerId],
    ["subscription_status", profile.subscription_status, update.status],
    ["price_id", profile.price_id, update.priceId],
    ["current_period_end", profile.current_period_end, update.currentPeriodEnd],
    ["cancel_at_period_end", profile.cancel_at_period_end, update.cancelAtPeriodEnd],
    ["cancel_at", profile.cancel_at, update.cancelAt],
    ["canceled_at", profile.canceled_at, update.canceledAt],
    ["trial_end", profile.trial_end, update.trialEnd],
    ["subscription_created_at", profile.subscription_created_at, update.createdAt],
  ];
  return pairs.filter(([, database, stripe]) => !same(database, stripe)).map((
    [field, database, stripe],
  ) => ({
    userId: profile.id,
    subscriptionId: update.subscriptionId,
    field,
    database: shown(database),
    stripe: shown(stripe),
  }));
}

/** What a page of subscriptions says each of its profiles should hold. */
export interface PagePlan {
  /** Profiles whose subscription on this page should be what they hold, with that subscription. */
  expected: { profile: ProfileBilling; update: ProfileUpdate }[];
  /** Subscriptions of the page that belong to no profile. */
  unmatched: ProfileUpdate[];
}

/**
 * Finds, for each profile that a subscription of the page belongs to (by `metadata.userId`,
 * else by customer, as the webhook's write finds it), the subscription it should hold: the
 * page's highest-ranked one for it, unless the profile holds another subscription, not on this
 * page, that ranks higher (that one is checked on its own page).
 */
export function planPage(updates: readonly ProfileUpdate[], profiles: readonly ProfileBilling[]) {
  const byId = new Map(profiles.map((profile) => [profile.id, profile]));
  const byCustomer = new Map(
    profiles.flatMap((profile) =>
      profile.stripe_customer_id === null ? [] : [[profile.stripe_customer_id, profile] as const]
    ),
  );
  const candidates = new Map<ProfileBilling, ProfileUpdate[]>();
  const unmatched: ProfileUpdate[] = [];
  for (const update of updates) {
    const profile = (update.userId === null ? undefined : byId.get(update.userId)) ??
      byCustomer.get(update.customerId);
    if (profile === undefined) unmatched.push(update);
    else candidates.set(profile, [...(candidates.get(profile) ?? []), update]);
  }
  const expected: PagePlan["expected"] = [];
  for (const [profile, list] of candidates) {
    const best = list.reduce((a, b) => outranks(b, a) ? b : a);
    const heldHere = list.find((update) =>
      update.subscriptionId === profile.stripe_subscription_id
    );
    const held = heldHere ?? {
      status: profile.subscription_status,
      createdAt: profile.subscription_created_at,
      subscriptionId: profile.stripe_subscription_id,
    };
    if (
      profile.stripe_subscription_id === null || heldHere !== undefined || outranks(best, held)
    ) {
      expected.push({ profile, update: best });
    }
  }
  return { expected, unmatched } satisfies PagePlan;
}

/** What reconciling one page found and did. */
export interface PageOutcome {
  checked: number;
  outOfSync: number;
  repaired: number;
  unmatched: number;
  drift: Drift[];
}

/** What reconciling needs. */
export interface ReconcileDeps {
  stripe: Stripe;
  db: Database;
  /** Called for each profile repaired (or found to need it), with what differed and the result. */
  onRepair?: (drift: Drift[], outcome: ApplyOutcome | "checked") => void;
  /** Called for each repaired profile's entitlements refresh, with its result. */
  onEntitlements?: (customerId: string, outcome: ApplyOutcome) => void;
}

/**
 * Compares one page of subscriptions with their profiles; in write mode, repairs each profile
 * that differs, one at a time, from a fresh read under the subscription's lock.
 */
export async function reconcilePage(
  deps: ReconcileDeps,
  subscriptions: readonly Stripe.Subscription[],
  write: boolean,
): Promise<PageOutcome> {
  const updates = subscriptions.map(toProfileUpdate);
  const { profiles, deletedCustomers } = await profilesForSubscriptions(deps.db, updates);
  const plan = planPage(
    updates.filter((update) => !deletedCustomers.has(update.customerId)),
    profiles,
  );
  const outcome: PageOutcome = {
    checked: updates.length,
    outOfSync: 0,
    repaired: 0,
    unmatched: plan.unmatched.length,
    drift: [],
  };
  for (const { profile, update } of plan.expected) {
    const drift = compareProfile(profile, update);
    if (drift.length === 0) continue;
    outcome.outOfSync++;
    outcome.drift.push(...drift);
    if (!write) {
      deps.onRepair?.(drift, "checked");
      continue;
    }
    const result = await repairSubscription(
      deps.db,
      update.subscriptionId,
      () =>
        readSubscription(deps.stripe, {
          subscriptionId: update.subscriptionId,
          userId: update.userId,
        }),
    );
    deps.onRepair?.(drift, result);
    if (result !== "applied") continue;
    outcome.repaired++;
    const entitlements = await writeEntitlements(
      deps.db,
      update.customerId,
      () => readEntitlements(deps.stripe, update.customerId),
    );
    deps.onEntitlements?.(update.customerId, entitlements);
  }
  return outcome;
}
