/** `/v1/subscriptions`: retrieve, update, cancel, list. */
import type { Stripe } from "../../../supabase/functions/_shared/stripe.ts";
import { parameterInvalid } from "../errors.ts";
import type { ParamObject } from "../form.ts";
import {
  optionalArray,
  optionalBoolean,
  optionalInteger,
  optionalMetadata,
  optionalObject,
  optionalString,
  rejectUnknown,
  requiredString,
} from "../params.ts";
import type { StripeState } from "../state.ts";
import {
  cancelNow,
  periodEnd,
  type SubscriptionChanges,
  updateSubscription,
} from "../subscriptions.ts";
import { paginate, PAGINATION, timeFilter } from "./lists.ts";
import { idAt, type Routes } from "./routes.ts";
import { isEnded } from "../billing_objects.ts";

const SUBSCRIPTION_UPDATE = [
  "add_invoice_items",
  "application_fee_percent",
  "automatic_tax",
  "billing_cycle_anchor",
  "billing_schedules",
  "billing_thresholds",
  "cancel_at",
  "cancel_at_period_end",
  "cancellation_details",
  "collection_method",
  "days_until_due",
  "default_payment_method",
  "default_source",
  "default_tax_rates",
  "description",
  "discounts",
  "expand",
  "invoice_settings",
  "items",
  "metadata",
  "off_session",
  "on_behalf_of",
  "pause_collection",
  "payment_behavior",
  "payment_settings",
  "pending_invoice_item_interval",
  "proration_behavior",
  "proration_date",
  "transfer_data",
  "trial_end",
  "trial_from_plan",
  "trial_settings",
];
const SUBSCRIPTION_LIST = [
  ...PAGINATION,
  "automatic_tax",
  "collection_method",
  "created",
  "current_period_end",
  "current_period_start",
  "customer",
  "customer_account",
  "plan",
  "price",
  "status",
  "test_clock",
];
const SUBSCRIPTION_STATUSES = [
  "active",
  "all",
  "canceled",
  "ended",
  "incomplete",
  "incomplete_expired",
  "past_due",
  "paused",
  "trialing",
  "unpaid",
];

function subscriptionChanges(
  state: StripeState,
  subscription: Stripe.Subscription,
  params: ParamObject,
): SubscriptionChanges {
  rejectUnknown(params, SUBSCRIPTION_UPDATE);
  const changes: SubscriptionChanges = {};
  const cancelAtPeriodEnd = optionalBoolean(params, "cancel_at_period_end");
  if (cancelAtPeriodEnd !== undefined) changes.cancelAtPeriodEnd = cancelAtPeriodEnd;
  const cancelAt = optionalString(params, "cancel_at");
  if (cancelAt !== undefined) {
    if (cancelAt === "") changes.cancelAt = null;
    else if (/^\d+$/.test(cancelAt)) changes.cancelAt = Number(cancelAt);
    else if (cancelAt === "min_period_end" || cancelAt === "max_period_end") {
      changes.cancelAt = periodEnd(subscription);
    } else throw parameterInvalid("cancel_at", `Invalid timestamp: ${cancelAt}`);
  }
  if (params.pause_collection !== undefined) {
    if (params.pause_collection === "") changes.pauseCollection = null;
    else {
      const pause = optionalObject(params, "pause_collection");
      if (pause) {
        const behavior = requiredString(pause, "behavior", ["pause_collection"]);
        if (!["keep_as_draft", "mark_uncollectible", "void"].includes(behavior)) {
          throw parameterInvalid(
            "pause_collection[behavior]",
            "Invalid pause_collection[behavior]: must be one of keep_as_draft, mark_uncollectible, or void",
          );
        }
        changes.pauseCollection = {
          behavior,
          resumesAt: optionalInteger(pause, "resumes_at", ["pause_collection"]) ?? null,
        };
      }
    }
  }
  const metadata = optionalMetadata(params);
  if (metadata !== undefined) changes.metadata = metadata;
  const items = optionalArray(params, "items");
  if (items !== undefined) {
    items.forEach((entry, index) => {
      if (typeof entry === "string" || Array.isArray(entry)) {
        throw parameterInvalid(`items[${index}]`, "Invalid hash");
      }
      const price = optionalString(entry, "price", ["items", String(index)]);
      if (price !== undefined) {
        state.price(price, `items[${index}][price]`);
        changes.price = price;
      }
      const quantity = optionalInteger(entry, "quantity", ["items", String(index)]);
      if (quantity !== undefined && quantity !== null) {
        if (quantity < 1) {
          throw parameterInvalid(
            `items[${index}][quantity]`,
            "This value must be greater than or equal to 1.",
          );
        }
        changes.quantity = quantity;
      }
    });
  }
  const trialEnd = optionalString(params, "trial_end");
  if (trialEnd === "now") changes.trialEndNow = true;
  return changes;
}

/** Whether a subscription matches `status`; the default leaves out canceled ones, as Stripe does. */
function statusMatches(subscription: Stripe.Subscription, status: string | undefined): boolean {
  if (status === undefined) return subscription.status !== "canceled";
  if (status === "all") return true;
  if (status === "ended") {
    return isEnded(subscription);
  }
  return subscription.status === status;
}

function listSubscriptions(
  state: StripeState,
  params: ParamObject,
): Stripe.ApiList<Stripe.Subscription> {
  rejectUnknown(params, SUBSCRIPTION_LIST);
  const customer = optionalString(params, "customer");
  const price = optionalString(params, "price") ?? optionalString(params, "plan");
  const status = optionalString(params, "status");
  if (status !== undefined && !SUBSCRIPTION_STATUSES.includes(status)) {
    throw parameterInvalid(
      "status",
      `Invalid status: must be one of ${SUBSCRIPTION_STATUSES.slice(0, -1).join(", ")}, or ${
        SUBSCRIPTION_STATUSES.at(-1)
      }`,
    );
  }
  const created = timeFilter(params);
  const periodEnds = timeFilter(params, "current_period_end");
  const periodStarts = timeFilter(params, "current_period_start");
  return paginate(
    state.subscriptions.values(),
    (subscription) => {
      const item = subscription.items.data[0];
      return (customer === undefined || subscription.customer === customer) &&
        (price === undefined ||
          subscription.items.data.some((entry) => entry.price.id === price)) &&
        statusMatches(subscription, status) && created(subscription.created) &&
        periodEnds(item?.current_period_end ?? 0) && periodStarts(item?.current_period_start ?? 0);
    },
    params,
    "/v1/subscriptions",
  );
}

/** Subscriptions' routes. */
export const SUBSCRIPTION_ROUTES: Routes = {
  "GET subscriptions/:id": (state, params, ids) => {
    rejectUnknown(params, ["expand"]);
    return state.subscription(idAt(ids));
  },
  "POST subscriptions/:id": (state, params, ids) =>
    updateSubscription(
      state,
      idAt(ids),
      subscriptionChanges(state, state.subscription(idAt(ids)), params),
    ),
  "DELETE subscriptions/:id": (state, params, ids) => {
    rejectUnknown(params, ["cancellation_details", "expand", "invoice_now", "prorate"]);
    optionalBoolean(params, "invoice_now");
    optionalBoolean(params, "prorate");
    const details = optionalObject(params, "cancellation_details");
    if (details) rejectUnknown(details, ["comment", "feedback"], ["cancellation_details"]);
    return cancelNow(state, idAt(ids));
  },
  "GET subscriptions": (state, params) => listSubscriptions(state, params),
};
