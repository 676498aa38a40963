/** Control actions on subscriptions: one name each, for methods and the control HTTP routes. */
import type { Stripe } from "../../supabase/functions/_shared/stripe.ts";
import { payOpenInvoice, type RenewOptions } from "./billing.ts";
import { snapshot } from "./objects.ts";
import type { StripeState } from "./state.ts";
import {
  cancelAt,
  cancelAtPeriodEnd,
  cancelNow,
  changePrice,
  endTrial,
  failNextPayment,
  pause,
  pendingUpdateApplied,
  pendingUpdateExpired,
  renew,
  requireAction,
  resume,
  trialWillEnd,
} from "./subscriptions.ts";

/** Drives one subscription through what Stripe would do to it over time. */
export interface SubscriptionControl {
  /** Sets or clears cancel at period end (`customer.subscription.updated`). */
  cancelAtPeriodEnd(enabled?: boolean): Stripe.Subscription;
  /** Schedules the cancellation at a time, or clears it with null (`.updated`). */
  cancelAt(at: number | null): Stripe.Subscription;
  /** Cancels now: status `canceled`, `ended_at` set (`customer.subscription.deleted`). */
  cancelNow(): Stripe.Subscription;
  /** The next payment attempt fails. */
  failNextPayment(): Stripe.Subscription;
  /** Starts the next period and bills it; see `renew` in subscriptions.ts. */
  renew(options?: RenewOptions): Stripe.Subscription;
  /** Pays the open invoice: back to `active` (`invoice.paid`, `invoice.payment_succeeded`, `.updated`). */
  payOpenInvoice(): Stripe.Subscription;
  /** The payment needs authentication (`invoice.payment_action_required`). */
  requireAction(): Stripe.Subscription;
  /** Status `paused` (`customer.subscription.paused`, `.updated`). */
  pause(): Stripe.Subscription;
  /** Back to `active` (`customer.subscription.resumed`, `.updated`). */
  resume(): Stripe.Subscription;
  /** Moves the items to another price (`.updated`). */
  changePrice(priceId: string): Stripe.Subscription;
  /** Trialing to active, first period billed (`.updated`, invoice events). */
  endTrial(): Stripe.Subscription;
  /** `customer.subscription.trial_will_end`. */
  trialWillEnd(): Stripe.Subscription;
  /** `customer.subscription.pending_update_applied`. */
  pendingUpdateApplied(): Stripe.Subscription;
  /** `customer.subscription.pending_update_expired`. */
  pendingUpdateExpired(): Stripe.Subscription;
}

/** The control actions' names. */
export type SubscriptionAction = keyof SubscriptionControl;

/** Every action, for {@link actionFromPath} to match a route segment against. */
const SUBSCRIPTION_ACTIONS: readonly SubscriptionAction[] = [
  "cancelAtPeriodEnd",
  "cancelAt",
  "cancelNow",
  "failNextPayment",
  "renew",
  "payOpenInvoice",
  "requireAction",
  "pause",
  "resume",
  "changePrice",
  "endTrial",
  "trialWillEnd",
  "pendingUpdateApplied",
  "pendingUpdateExpired",
];

/** Binds the control actions of one subscription; every result is a snapshot. */
export function subscriptionControl(state: StripeState, id: string): SubscriptionControl {
  const run = (change: () => Stripe.Subscription) => snapshot(change());
  return {
    cancelAtPeriodEnd: (enabled = true) => run(() => cancelAtPeriodEnd(state, id, enabled)),
    cancelAt: (at) => run(() => cancelAt(state, id, at)),
    cancelNow: () => run(() => cancelNow(state, id)),
    failNextPayment: () => run(() => failNextPayment(state, id)),
    renew: (options) => run(() => renew(state, id, options)),
    payOpenInvoice: () => run(() => payOpenInvoice(state, id)),
    requireAction: () => run(() => requireAction(state, id)),
    pause: () => run(() => pause(state, id)),
    resume: () => run(() => resume(state, id)),
    changePrice: (priceId) => run(() => changePrice(state, id, priceId)),
    endTrial: () => run(() => endTrial(state, id)),
    trialWillEnd: () => run(() => trialWillEnd(state, id)),
    pendingUpdateApplied: () => run(() => pendingUpdateApplied(state, id)),
    pendingUpdateExpired: () => run(() => pendingUpdateExpired(state, id)),
  };
}

/** `cancel-at-period-end` or `cancelAtPeriodEnd` to the action, undefined when unknown. */
export function actionFromPath(segment: string): SubscriptionAction | undefined {
  const wanted = segment.replaceAll("-", "").replaceAll("_", "").toLowerCase();
  return SUBSCRIPTION_ACTIONS.find((action) => action.toLowerCase() === wanted);
}

/** Runs an action with its JSON body: `{enabled}`, `{at}`, `{fail}`, `{price}`. */
export function runAction(
  control: SubscriptionControl,
  action: SubscriptionAction,
  body: Record<string, unknown>,
): Stripe.Subscription {
  switch (action) {
    case "cancelAtPeriodEnd":
      return control.cancelAtPeriodEnd(body.enabled !== false);
    case "cancelAt": {
      const at = body.at;
      if (at !== null && typeof at !== "number") {
        throw new TypeError(`Expected "at" to be a timestamp in seconds or null`);
      }
      return control.cancelAt(at);
    }
    case "renew":
      return control.renew({
        fail: body.fail === true,
        requireAction: body.requireAction === true,
      });
    case "changePrice": {
      const price = body.price ?? body.priceId;
      if (typeof price !== "string") throw new TypeError(`Expected "price" to be a price id`);
      return control.changePrice(price);
    }
    default:
      return control[action]();
  }
}
