/**
 * The catalog: products, prices, entitlement features, coupons and promotion codes, the changes
 * Stripe allows to them and the events they make. With nothing configured the account holds
 * two plans (Basic and Pro, monthly and yearly), three features and one promotion code.
 */
import type { Stripe } from "../../supabase/functions/_shared/stripe.ts";
import { couponObject, promotionCodeObject } from "./billing_objects.ts";
import { featureObject, productFeatureObject } from "./entitlement_objects.ts";
import { invalidRequest, parameterInvalid, StripeApiError } from "./errors.ts";
import { newId, type PriceFields, priceObject, productObject } from "./objects.ts";
import type { StripeState } from "./state.ts";

/** The price seeded as the default plan: Pro, monthly. */
export const DEFAULT_PRICE_ID = "price_local_pro";

/** The ids and lookup keys of the seeded catalog, for the dev server and tests to name. */
export const CATALOG = {
  products: { basic: "prod_local_basic", pro: "prod_local_pro" },
  prices: {
    basicMonthly: "price_local_basic",
    basicYearly: "price_local_basic_yearly",
    proMonthly: DEFAULT_PRICE_ID,
    proYearly: "price_local_pro_yearly",
  },
  lookupKeys: {
    basicMonthly: "basic_monthly",
    basicYearly: "basic_yearly",
    proMonthly: "pro_monthly",
    proYearly: "pro_yearly",
  },
  features: {
    projects: { id: "feat_local_projects", lookupKey: "projects", name: "Projects" },
    prioritySupport: {
      id: "feat_local_priority_support",
      lookupKey: "priority_support",
      name: "Priority support",
    },
    apiAccess: { id: "feat_local_api_access", lookupKey: "api_access", name: "API access" },
  },
  coupon: "local_20_off",
  promotionCode: { id: "promo_local_20", code: "LOCAL20", percentOff: 20 },
} as const;

const SEEDED_PRODUCTS = [
  {
    id: CATALOG.products.basic,
    name: "Basic",
    description: "For one person getting started",
    features: [CATALOG.features.projects.id],
    prices: [
      [CATALOG.prices.basicMonthly, CATALOG.lookupKeys.basicMonthly, 500, "month"],
      [CATALOG.prices.basicYearly, CATALOG.lookupKeys.basicYearly, 5000, "year"],
    ],
  },
  {
    id: CATALOG.products.pro,
    name: "Pro",
    description: "For teams that ship every day",
    features: [
      CATALOG.features.projects.id,
      CATALOG.features.prioritySupport.id,
      CATALOG.features.apiAccess.id,
    ],
    prices: [
      [CATALOG.prices.proMonthly, CATALOG.lookupKeys.proMonthly, 1000, "month"],
      [CATALOG.prices.proYearly, CATALOG.lookupKeys.proYearly, 10000, "year"],
    ],
  },
] as const;

/** Puts the seeded catalog in place, without events (it was there before anyone listened). */
export function seedCatalog(state: StripeState): void {
  const created = state.now();
  const livemode = state.livemode;
  for (const feature of Object.values(CATALOG.features)) {
    state.features.set(
      feature.id,
      featureObject({
        id: feature.id,
        name: feature.name,
        lookupKey: feature.lookupKey,
        metadata: {},
        livemode,
      }),
    );
  }
  for (const seeded of SEEDED_PRODUCTS) {
    const product = productObject({
      id: seeded.id,
      name: seeded.name,
      description: seeded.description,
      created,
      livemode,
    });
    product.default_price = seeded.prices[0][0];
    state.products.set(product.id, product);
    for (const [id, lookupKey, unitAmount, interval] of seeded.prices) {
      state.prices.set(
        id,
        priceObject({
          id,
          product: product.id,
          unitAmount,
          currency: "usd",
          recurring: { interval, intervalCount: 1 },
          lookupKey,
          created,
          livemode,
        }),
      );
    }
    state.productFeatures.set(
      product.id,
      seeded.features.map((featureId) =>
        productFeatureObject({
          id: `prodft_${featureId.slice("feat_".length)}_${seeded.name.toLowerCase()}`,
          feature: state.feature(featureId),
          livemode,
        })
      ),
    );
  }
  const coupon = couponObject({
    id: CATALOG.coupon,
    name: `${CATALOG.promotionCode.percentOff}% off`,
    percentOff: CATALOG.promotionCode.percentOff,
    amountOff: null,
    currency: null,
    duration: "forever",
    created,
    livemode,
  });
  state.coupons.set(coupon.id, coupon);
  state.promotionCodes.set(
    CATALOG.promotionCode.id,
    promotionCodeObject({
      id: CATALOG.promotionCode.id,
      code: CATALOG.promotionCode.code,
      coupon: coupon.id,
      created,
      livemode,
    }),
  );
}

// ---- products ----------------------------------------------------------------------------------

/** What a new product is made of. */
export interface ProductInput {
  name: string;
  description?: string | null;
  metadata?: Record<string, string>;
  active?: boolean;
}

/** Creates a product (`product.created`). */
export function createProduct(state: StripeState, input: ProductInput): Stripe.Product {
  const product = productObject({
    ...input,
    id: newId("prod"),
    created: state.now(),
    livemode: state.livemode,
  });
  state.products.set(product.id, product);
  state.emit("product.created", product);
  return product;
}

/** Changes a product (`product.updated` when something changed). */
export function updateProduct(
  state: StripeState,
  id: string,
  change: (product: Stripe.Product) => void,
): Stripe.Product {
  const product = state.product(id);
  state.update("product.updated", product, (target) => {
    change(target);
    target.updated = state.now();
  });
  return product;
}

/** Deletes a product that has no prices (`product.deleted`), as the API allows. */
export function deleteProduct(state: StripeState, id: string): Stripe.DeletedProduct {
  const product = state.product(id);
  if ([...state.prices.values()].some((price) => price.product === id)) {
    throw invalidRequest(
      "This product cannot be deleted because it has one or more user-created prices.",
    );
  }
  state.products.delete(id);
  state.productFeatures.delete(id);
  state.emit("product.deleted", product);
  return { id, object: "product", deleted: true };
}

// ---- prices ------------------------------------------------------------------------------------

/** What a new price is made of: an existing product, or a new one by name. */
export type PriceInput = Omit<PriceFields, "id" | "created" | "product" | "livemode"> & {
  product?: string;
  productName?: string;
  transferLookupKey?: boolean;
};

/**
 * Frees a lookup key for `owner`: a price holding it (archived or not, as Stripe keeps them
 * unique among all prices) keeps it unless the key is transferred, then loses it (`price.updated`).
 */
function claimLookupKey(
  state: StripeState,
  key: string,
  transfer: boolean,
  owner: string | null,
): void {
  const holder = [...state.prices.values()].find((price) =>
    price.lookup_key === key && price.id !== owner
  );
  if (!holder) return;
  if (!transfer) {
    throw parameterInvalid(
      "lookup_key",
      `A price (\`${holder.id}\`) already uses that lookup key.`,
    );
  }
  state.update("price.updated", holder, (price) => {
    price.lookup_key = null;
  });
}

/** Creates a price, and its product when given by name (`product.created`, `price.created`). */
export function createPrice(state: StripeState, input: PriceInput): Stripe.Price {
  const { product: productId, productName, transferLookupKey, ...fields } = input;
  if (productId !== undefined) state.product(productId, "product");
  if (fields.lookupKey) claimLookupKey(state, fields.lookupKey, transferLookupKey === true, null);
  const product = productId ?? createProduct(state, { name: productName ?? "Product" }).id;
  const price = priceObject({
    ...fields,
    id: newId("price", 24),
    product,
    created: state.now(),
    livemode: state.livemode,
  });
  state.prices.set(price.id, price);
  state.emit("price.created", price);
  return price;
}

/** Changes to a price the API allows. */
export interface PriceChanges {
  active?: boolean;
  lookupKey?: string | null;
  transferLookupKey?: boolean;
  nickname?: string | null;
  metadata?: (current: Record<string, string>) => Record<string, string>;
}

/** Changes a price (`price.updated`); archiving is `active: false`. */
export function updatePrice(state: StripeState, id: string, changes: PriceChanges): Stripe.Price {
  const price = state.price(id);
  if (changes.lookupKey) {
    claimLookupKey(state, changes.lookupKey, changes.transferLookupKey === true, id);
  }
  state.update("price.updated", price, (target) => {
    if (changes.active !== undefined) target.active = changes.active;
    if (changes.lookupKey !== undefined) target.lookup_key = changes.lookupKey;
    if (changes.nickname !== undefined) target.nickname = changes.nickname;
    if (changes.metadata) target.metadata = changes.metadata(target.metadata);
  });
  return price;
}

/**
 * Deletes a price as the Dashboard does for one never used (`price.deleted`); the API itself
 * only archives prices.
 */
export function deletePrice(state: StripeState, id: string): Stripe.Price {
  const price = state.price(id);
  const used = [...state.subscriptions.values()].some((subscription) =>
    subscription.items.data.some((item) => item.price.id === id)
  );
  if (used) {
    throw new StripeApiError(400, {
      type: "invalid_request_error",
      message: `The price '${id}' is used by a subscription and can only be archived.`,
    });
  }
  state.prices.delete(id);
  state.emit("price.deleted", price);
  return price;
}

// ---- entitlement features ----------------------------------------------------------------------

/** Creates a feature; its lookup key is unique in the account. */
export function createFeature(
  state: StripeState,
  input: { name: string; lookupKey: string; metadata: Record<string, string> },
): Stripe.Entitlements.Feature {
  const taken = [...state.features.values()].some((feature) =>
    feature.lookup_key === input.lookupKey
  );
  if (taken) {
    throw parameterInvalid(
      "lookup_key",
      `A feature with the lookup_key \`${input.lookupKey}\` already exists.`,
    );
  }
  const feature = featureObject({ ...input, id: newId("feat", 24), livemode: state.livemode });
  state.features.set(feature.id, feature);
  return feature;
}

/** Changes a feature's name, metadata or `active` (archived features attach to nothing new). */
export function updateFeature(
  state: StripeState,
  id: string,
  change: (feature: Stripe.Entitlements.Feature) => void,
): Stripe.Entitlements.Feature {
  const feature = state.feature(id);
  change(feature);
  // Attached copies show the feature as it is now.
  for (const attached of state.productFeatures.values()) {
    for (const entry of attached) {
      if (entry.entitlement_feature.id === id) entry.entitlement_feature = feature;
    }
  }
  return feature;
}

/** Attaches a feature to a product; existing subscribers get it at their next period. */
export function attachFeature(
  state: StripeState,
  productId: string,
  featureId: string,
): Stripe.ProductFeature {
  state.product(productId);
  const feature = state.feature(featureId, "entitlement_feature");
  if (!feature.active) {
    throw parameterInvalid(
      "entitlement_feature",
      `The feature \`${featureId}\` is archived and cannot be attached to a product.`,
    );
  }
  const attached = state.productFeatures.get(productId) ?? [];
  if (attached.some((entry) => entry.entitlement_feature.id === featureId)) {
    throw parameterInvalid(
      "entitlement_feature",
      `The feature \`${featureId}\` is already attached to the product \`${productId}\`.`,
    );
  }
  const productFeature = productFeatureObject({
    id: newId("prodft", 24),
    feature,
    livemode: state.livemode,
  });
  state.productFeatures.set(productId, [...attached, productFeature]);
  return productFeature;
}

/** The product feature with this id on a product, or 404. */
export function productFeature(
  state: StripeState,
  productId: string,
  id: string,
): Stripe.ProductFeature {
  state.product(productId);
  const found = (state.productFeatures.get(productId) ?? []).find((entry) => entry.id === id);
  if (!found) {
    throw new StripeApiError(404, {
      type: "invalid_request_error",
      code: "resource_missing",
      message: `No such product_feature: '${id}'`,
      param: "id",
    });
  }
  return found;
}

/** Detaches a feature from a product; existing subscribers keep it until their next period. */
export function detachFeature(
  state: StripeState,
  productId: string,
  id: string,
): Stripe.DeletedProductFeature {
  productFeature(state, productId, id);
  const attached = state.productFeatures.get(productId) ?? [];
  state.productFeatures.set(productId, attached.filter((entry) => entry.id !== id));
  return { id, object: "product_feature", deleted: true };
}

// ---- coupons and promotion codes ---------------------------------------------------------------

/** The active promotion code a person typed (codes match whatever their case), if any. */
export function promotionCodeByCode(
  state: StripeState,
  code: string,
): Stripe.PromotionCode | undefined {
  const wanted = code.trim().toUpperCase();
  return [...state.promotionCodes.values()].find((promotion) =>
    promotion.active && promotion.code.toUpperCase() === wanted
  );
}

/** The coupon of a promotion code. */
export function couponOf(state: StripeState, promotion: Stripe.PromotionCode): Stripe.Coupon {
  const coupon = promotion.promotion.coupon;
  const id = typeof coupon === "string" ? coupon : coupon?.id ?? "";
  const found = state.coupons.get(id);
  if (!found) throw new Error(`Promotion code "${promotion.id}" has no coupon "${id}"`);
  return found;
}
