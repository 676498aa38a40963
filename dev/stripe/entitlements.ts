/**
 * Entitlements: the features a customer may use, from the products of its subscriptions. As
 * Stripe documents, a subscription grants the features its products had when its current
 * period began (a feature attached to or removed from a product reaches existing subscribers
 * at their next period), and only while it is `active`, `trialing` or `past_due`. Every change
 * of a customer's set is announced by `entitlements.active_entitlement_summary.updated`.
 */
import type { Stripe } from "../../supabase/functions/_shared/stripe.ts";
import { activeEntitlementObject, activeEntitlementSummaryObject } from "./entitlement_objects.ts";
import { newId } from "./objects.ts";
import type { StripeState } from "./state.ts";

/** Subscription statuses that grant their products' features. */
export const GRANTING_STATUSES: readonly string[] = ["active", "trialing", "past_due"];

/** The ids of the features attached to a product now. */
export function productFeatureIds(state: StripeState, productId: string): string[] {
  return (state.productFeatures.get(productId) ?? []).map((attached) =>
    attached.entitlement_feature.id
  );
}

function productOf(price: Stripe.Price): string {
  return typeof price.product === "string" ? price.product : price.product.id;
}

/** Records the features a subscription's products grant from now on (a new period, a new plan). */
export function captureFeatures(state: StripeState, subscription: Stripe.Subscription): void {
  const features = new Set<string>();
  for (const item of subscription.items.data) {
    for (const id of productFeatureIds(state, productOf(item.price))) features.add(id);
  }
  state.grantedFeatures.set(subscription.id, [...features]);
}

/** The feature ids a customer is entitled to now, in a stable order. */
export function entitledFeatureIds(state: StripeState, customerId: string): string[] {
  const features = new Set<string>();
  for (const subscription of state.subscriptionsOf(customerId)) {
    if (!GRANTING_STATUSES.includes(subscription.status)) continue;
    for (const id of state.grantedFeatures.get(subscription.id) ?? []) features.add(id);
  }
  return [...features];
}

/** A customer's active entitlements, as the API lists them. */
export function activeEntitlements(
  state: StripeState,
  customerId: string,
): Stripe.Entitlements.ActiveEntitlement[] {
  const granted = state.activeEntitlements.get(customerId) ?? new Map<string, string>();
  return [...granted.entries()].flatMap(([featureId, id]) => {
    const feature = state.features.get(featureId);
    return feature ? [activeEntitlementObject({ id, feature, livemode: state.livemode })] : [];
  });
}

/** The active entitlement with this id, whoever's it is. */
export function findActiveEntitlement(
  state: StripeState,
  id: string,
): Stripe.Entitlements.ActiveEntitlement | undefined {
  for (const customer of state.activeEntitlements.keys()) {
    const found = activeEntitlements(state, customer).find((entitlement) => entitlement.id === id);
    if (found) return found;
  }
  return undefined;
}

/**
 * Brings a customer's active entitlements up to date; when the set changed, emits the
 * summary. An entitlement that continues keeps its id.
 */
export function refreshEntitlements(state: StripeState, customerId: string): void {
  const previous = state.activeEntitlements.get(customerId) ?? new Map<string, string>();
  const features = entitledFeatureIds(state, customerId);
  const unchanged = features.length === previous.size &&
    features.every((feature) => previous.has(feature));
  if (unchanged) return;
  const next = new Map<string, string>();
  for (const feature of features) next.set(feature, previous.get(feature) ?? newId("ent", 24));
  if (next.size === 0) state.activeEntitlements.delete(customerId);
  else state.activeEntitlements.set(customerId, next);
  state.emit(
    "entitlements.active_entitlement_summary.updated",
    activeEntitlementSummaryObject({
      customer: customerId,
      entitlements: activeEntitlements(state, customerId),
      livemode: state.livemode,
    }),
  );
}
