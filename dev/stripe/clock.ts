/**
 * The account's clock. Advancing it makes what falls due happen in time order, each at its
 * own time, as Stripe's test clocks do (here for the whole account): trial-end notices three
 * days ahead, trial ends, scheduled cancellations, renewals at period ends, and the expiry of
 * open checkout sessions.
 */
import { paymentMethodOf } from "./billing.ts";
import { expireCheckout } from "./checkout.ts";
import type { StripeState } from "./state.ts";
import { cancelNow, periodEnd, reachTrialEnd, renew, trialWillEnd } from "./subscriptions.ts";

const DAY = 24 * 60 * 60;

/** Something due at a time: the earliest runs first, ties in `rank` order. */
interface Due {
  at: number;
  rank: number;
  run: () => void;
}

/** A safety stop: a clock advanced by centuries of daily renewals is a mistake. */
const MAX_STEPS = 100_000;

/** What is due next for a subscription, if anything. */
function dueForSubscription(state: StripeState, id: string): Due | null {
  const subscription = state.subscriptions.get(id);
  if (!subscription) return null;
  if (subscription.status === "trialing" && subscription.trial_end !== null) {
    const trialEnd = subscription.trial_end;
    if (!state.trialNotices.has(id)) {
      const notice = Math.max(subscription.trial_start ?? trialEnd, trialEnd - 3 * DAY);
      return { at: notice, rank: 0, run: () => trialWillEnd(state, id) };
    }
    return {
      at: trialEnd,
      rank: 1,
      run: () => reachTrialEnd(state, id, paymentMethodOf(state, subscription) !== null),
    };
  }
  const status = subscription.status;
  if (status !== "active" && status !== "past_due" && status !== "unpaid") return null;
  const end = periodEnd(subscription);
  const scheduled = subscription.cancel_at;
  if (scheduled !== null && scheduled < end) {
    return { at: scheduled, rank: 2, run: () => cancelNow(state, id) };
  }
  return { at: end, rank: 3, run: () => renew(state, id) };
}

/** When an open checkout session expires. */
function dueForSession(state: StripeState, id: string): Due | null {
  const session = state.checkouts.get(id)?.session;
  if (session?.status !== "open") return null;
  return { at: session.expires_at, rank: 4, run: () => expireCheckout(state, id) };
}

/** What an advance did. */
export interface ClockAdvance {
  /** The account's time afterwards, in seconds since the epoch. */
  now: number;
  /** How many events it made. */
  events: number;
}

/** Moves the account's clock forward by `seconds`, running what falls due on the way. */
export function advanceClock(state: StripeState, seconds: number): ClockAdvance {
  if (!Number.isFinite(seconds) || seconds < 0) {
    throw new RangeError(`The clock only moves forward: "${seconds}" seconds`);
  }
  const target = state.now() + Math.floor(seconds);
  const eventsBefore = state.events.length;
  // Each thing that can fall due has at most one next step; after it runs, its next one is due.
  type Pending = Due & { next: () => Due | null };
  const before = (a: Due, b: Due) => a.at < b.at || (a.at === b.at && a.rank < b.rank);
  const pending = (next: () => Due | null): Pending | null => {
    const due = next();
    return due && due.at <= target ? { ...due, next } : null;
  };
  const queue: Pending[] = [
    ...[...state.subscriptions.keys()].map((id) => pending(() => dueForSubscription(state, id))),
    ...[...state.checkouts.keys()].map((id) => pending(() => dueForSession(state, id))),
  ].filter((item): item is Pending => item !== null)
    .sort((a, b) => a.at - b.at || a.rank - b.rank);
  const enqueue = (next: () => Due | null) => {
    const item = pending(next);
    if (!item) return;
    // The first position whose item runs after this one (binary search; ties keep their order).
    let low = 0;
    let high = queue.length;
    while (low < high) {
      const middle = (low + high) >> 1;
      const other = queue[middle];
      if (other && !before(item, other)) low = middle + 1;
      else high = middle;
    }
    queue.splice(low, 0, item);
  };
  for (let step = 0; queue.length > 0; step++) {
    if (step >= MAX_STEPS) {
      throw new RangeError(`Advancing the clock ran more than ${MAX_STEPS} steps`);
    }
    const item = queue.shift();
    if (!item) break;
    state.moveClockTo(item.at);
    item.run();
    enqueue(item.next);
  }
  state.moveClockTo(target);
  return { now: state.now(), events: state.events.length - eventsBefore };
}
