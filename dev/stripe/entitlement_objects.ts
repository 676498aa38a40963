/** Builders for Entitlements objects: features, product features, active entitlements. */
import type { Stripe } from "../../supabase/functions/_shared/stripe.ts";

/** A feature that products grant (`entitlements.feature`). */
export function featureObject(fields: {
  id: string;
  name: string;
  lookupKey: string;
  metadata: Record<string, string>;
  livemode: boolean;
}): Stripe.Entitlements.Feature {
  return {
    id: fields.id,
    object: "entitlements.feature",
    active: true,
    livemode: fields.livemode,
    lookup_key: fields.lookupKey,
    metadata: fields.metadata,
    name: fields.name,
  };
}

/** A feature attached to a product. */
export function productFeatureObject(fields: {
  id: string;
  feature: Stripe.Entitlements.Feature;
  livemode: boolean;
}): Stripe.ProductFeature {
  return {
    id: fields.id,
    object: "product_feature",
    entitlement_feature: fields.feature,
    livemode: fields.livemode,
  };
}

/** A customer's access to one feature. */
export function activeEntitlementObject(fields: {
  id: string;
  feature: Stripe.Entitlements.Feature;
  livemode: boolean;
}): Stripe.Entitlements.ActiveEntitlement {
  return {
    id: fields.id,
    object: "entitlements.active_entitlement",
    feature: fields.feature.id,
    livemode: fields.livemode,
    lookup_key: fields.feature.lookup_key,
  };
}

/** The object of `entitlements.active_entitlement_summary.updated`. */
export function activeEntitlementSummaryObject(fields: {
  customer: string;
  entitlements: Stripe.Entitlements.ActiveEntitlement[];
  livemode: boolean;
}): Stripe.Entitlements.ActiveEntitlementSummary {
  return {
    object: "entitlements.active_entitlement_summary",
    customer: fields.customer,
    entitlements: {
      object: "list",
      data: fields.entitlements,
      has_more: false,
      url: "/v1/entitlements/active_entitlements",
    },
    livemode: fields.livemode,
  };
}
