/**
 * The catalog's endpoints: `/v1/products` (and their features), `/v1/prices`, `/v1/coupons`,
 * `/v1/promotion_codes`.
 */
import type { Stripe } from "../../../supabase/functions/_shared/stripe.ts";
import {
  attachFeature,
  createPrice,
  createProduct,
  deleteProduct,
  detachFeature,
  productFeature,
  updatePrice,
  updateProduct,
} from "../catalog.ts";
import { parameterInvalid, parameterMissing, resourceMissing } from "../errors.ts";
import type { ParamObject } from "../form.ts";
import {
  mergeMetadata,
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
import { paginate, PAGINATION, timeFilter } from "./lists.ts";
import { idAt, type Routes } from "./routes.ts";

const PRICE_CREATE = [
  "currency",
  "active",
  "billing_scheme",
  "currency_options",
  "custom_unit_amount",
  "expand",
  "lookup_key",
  "metadata",
  "nickname",
  "product",
  "product_data",
  "recurring",
  "tax_behavior",
  "tiers",
  "tiers_mode",
  "transfer_lookup_key",
  "transform_quantity",
  "unit_amount",
  "unit_amount_decimal",
];
const PRICE_UPDATE = [
  "active",
  "currency_options",
  "expand",
  "lookup_key",
  "metadata",
  "nickname",
  "tax_behavior",
  "transfer_lookup_key",
];
const PRODUCT_CREATE = [
  "active",
  "default_price_data",
  "description",
  "expand",
  "id",
  "images",
  "marketing_features",
  "metadata",
  "name",
  "package_dimensions",
  "shippable",
  "statement_descriptor",
  "tax_code",
  "tax_details",
  "unit_label",
  "url",
];
const PRODUCT_UPDATE = [
  "active",
  "default_price",
  "description",
  "expand",
  "images",
  "marketing_features",
  "metadata",
  "name",
  "package_dimensions",
  "shippable",
  "statement_descriptor",
  "tax_code",
  "tax_details",
  "unit_label",
  "url",
];
const INTERVALS = ["day", "week", "month", "year"];
/** Stripe's longest lookup key. */
const LOOKUP_KEY_MAX_LENGTH = 200;

function readLookupKey(params: ParamObject): string | undefined {
  const key = optionalString(params, "lookup_key");
  if (key !== undefined && key.length > LOOKUP_KEY_MAX_LENGTH) {
    throw parameterInvalid(
      "lookup_key",
      `Invalid string: ${key.slice(0, 20)}...; must be at most ${LOOKUP_KEY_MAX_LENGTH} characters`,
    );
  }
  return key;
}

function productId(price: Stripe.Price): string {
  return typeof price.product === "string" ? price.product : price.product.id;
}

// ---- prices ------------------------------------------------------------------------------------

function createPriceFrom(state: StripeState, params: ParamObject): Stripe.Price {
  rejectUnknown(params, PRICE_CREATE);
  const currency = requiredString(params, "currency").toLowerCase();
  const unitAmount = optionalInteger(params, "unit_amount");
  if (unitAmount === undefined || unitAmount === null) throw parameterMissing("unit_amount");
  if (unitAmount < 0) {
    throw parameterInvalid("unit_amount", "This value must be greater than or equal to 0.");
  }
  const product = optionalString(params, "product");
  const productData = optionalObject(params, "product_data");
  if (product === undefined && productData === undefined) throw parameterMissing("product");
  if (product !== undefined && productData !== undefined) {
    throw parameterInvalid(
      "product_data",
      "You may only specify one of these parameters: product, product_data.",
      "parameters_exclusive",
    );
  }
  const recurringParams = optionalObject(params, "recurring");
  let recurring: { interval: Stripe.Price.Recurring.Interval; intervalCount: number } | null = null;
  if (recurringParams) {
    rejectUnknown(recurringParams, ["interval", "interval_count", "meter", "usage_type"], [
      "recurring",
    ]);
    const interval = requiredString(recurringParams, "interval", ["recurring"]);
    if (!INTERVALS.includes(interval)) {
      throw parameterInvalid(
        "recurring[interval]",
        "Invalid recurring[interval]: must be one of day, month, week, or year",
      );
    }
    const count = optionalInteger(recurringParams, "interval_count", ["recurring"]) ?? 1;
    recurring = { interval: interval as Stripe.Price.Recurring.Interval, intervalCount: count };
  }
  if (productData) rejectUnknown(productData, ["name", "active", "metadata"], ["product_data"]);
  return createPrice(state, {
    unitAmount,
    currency,
    recurring,
    product,
    productName: productData ? requiredString(productData, "name", ["product_data"]) : undefined,
    nickname: optionalString(params, "nickname") || null,
    lookupKey: readLookupKey(params) || null,
    transferLookupKey: optionalBoolean(params, "transfer_lookup_key"),
    active: optionalBoolean(params, "active"),
    metadata: mergeMetadata({}, optionalMetadata(params)),
  });
}

function listPrices(state: StripeState, params: ParamObject): Stripe.ApiList<Stripe.Price> {
  rejectUnknown(params, [
    ...PAGINATION,
    "active",
    "created",
    "currency",
    "lookup_keys",
    "product",
    "recurring",
    "type",
  ]);
  const active = optionalBoolean(params, "active");
  const currency = optionalString(params, "currency");
  const product = optionalString(params, "product");
  const type = optionalString(params, "type");
  if (type !== undefined && type !== "one_time" && type !== "recurring") {
    throw parameterInvalid("type", "Invalid type: must be one of one_time or recurring");
  }
  const lookupKeys = optionalArray(params, "lookup_keys");
  if (lookupKeys !== undefined) {
    if (lookupKeys.length > 10) {
      throw parameterInvalid("lookup_keys", "You may only specify up to 10 lookup keys.");
    }
    lookupKeys.forEach((key, index) => {
      if (typeof key !== "string") {
        throw parameterInvalid(`lookup_keys[${index}]`, "Invalid string");
      }
    });
  }
  const created = timeFilter(params);
  return paginate(
    state.prices.values(),
    (price) =>
      (active === undefined || price.active === active) &&
      (currency === undefined || price.currency === currency.toLowerCase()) &&
      (product === undefined || productId(price) === product) &&
      (type === undefined || price.type === type) &&
      (lookupKeys === undefined ||
        (price.lookup_key !== null && lookupKeys.includes(price.lookup_key))) &&
      created(price.created),
    params,
    "/v1/prices",
  );
}

// ---- products ----------------------------------------------------------------------------------

function readProductChanges(params: ParamObject) {
  const name = optionalString(params, "name");
  const description = optionalString(params, "description");
  const active = optionalBoolean(params, "active");
  const metadata = optionalMetadata(params);
  return { name, description, active, metadata };
}

function listProducts(state: StripeState, params: ParamObject): Stripe.ApiList<Stripe.Product> {
  rejectUnknown(params, [...PAGINATION, "active", "created", "ids", "shippable", "url"]);
  const active = optionalBoolean(params, "active");
  const ids = optionalArray(params, "ids");
  const created = timeFilter(params);
  return paginate(
    state.products.values(),
    (product) =>
      (active === undefined || product.active === active) &&
      (ids === undefined || ids.includes(product.id)) && created(product.created),
    params,
    "/v1/products",
  );
}

// ---- promotion codes ---------------------------------------------------------------------------

function listPromotionCodes(
  state: StripeState,
  params: ParamObject,
): Stripe.ApiList<Stripe.PromotionCode> {
  rejectUnknown(params, [...PAGINATION, "active", "code", "coupon", "created", "customer"]);
  const active = optionalBoolean(params, "active");
  const code = optionalString(params, "code");
  const coupon = optionalString(params, "coupon");
  const created = timeFilter(params);
  return paginate(
    state.promotionCodes.values(),
    (promotion) =>
      (active === undefined || promotion.active === active) &&
      (code === undefined || promotion.code.toUpperCase() === code.toUpperCase()) &&
      (coupon === undefined || promotion.promotion.coupon === coupon) &&
      created(promotion.created),
    params,
    "/v1/promotion_codes",
  );
}

/** The catalog's routes: products, their features, prices, coupons, promotion codes. */
export const CATALOG_ROUTES: Routes = {
  "POST prices": (state, params) => createPriceFrom(state, params),
  "GET prices/:id": (state, params, ids) => {
    rejectUnknown(params, ["expand"]);
    return state.price(idAt(ids));
  },
  "POST prices/:id": (state, params, ids) => {
    rejectUnknown(params, PRICE_UPDATE);
    const lookupKey = readLookupKey(params);
    const metadata = optionalMetadata(params);
    const merged = mergeMetadata(state.price(idAt(ids)).metadata, metadata);
    return updatePrice(state, idAt(ids), {
      active: optionalBoolean(params, "active"),
      lookupKey: lookupKey === undefined ? undefined : lookupKey || null,
      transferLookupKey: optionalBoolean(params, "transfer_lookup_key"),
      nickname: params.nickname === undefined
        ? undefined
        : optionalString(params, "nickname") || null,
      metadata: metadata === undefined ? undefined : () => merged,
    });
  },
  "GET prices": (state, params) => listPrices(state, params),

  "POST products": (state, params) => {
    rejectUnknown(params, PRODUCT_CREATE);
    const changes = readProductChanges(params);
    if (changes.name === undefined) throw parameterMissing("name");
    return createProduct(state, {
      name: requiredString(params, "name"),
      description: changes.description || null,
      active: changes.active,
      metadata: mergeMetadata({}, changes.metadata),
    });
  },
  "GET products/:id": (state, params, ids) => {
    rejectUnknown(params, ["expand"]);
    return state.product(idAt(ids));
  },
  "POST products/:id": (state, params, ids) => {
    rejectUnknown(params, PRODUCT_UPDATE);
    const changes = readProductChanges(params);
    if (changes.name !== undefined) requiredString(params, "name");
    const defaultPrice = optionalString(params, "default_price");
    if (defaultPrice) {
      const price = state.price(defaultPrice, "default_price");
      if (productId(price) !== idAt(ids)) {
        throw parameterInvalid(
          "default_price",
          `The price \`${defaultPrice}\` does not belong to the product \`${idAt(ids)}\`.`,
        );
      }
    }
    const merged = mergeMetadata(state.product(idAt(ids)).metadata, changes.metadata);
    return updateProduct(state, idAt(ids), (product) => {
      if (changes.name !== undefined) product.name = changes.name;
      if (changes.description !== undefined) product.description = changes.description || null;
      if (changes.active !== undefined) product.active = changes.active;
      if (defaultPrice !== undefined) product.default_price = defaultPrice || null;
      product.metadata = merged;
    });
  },
  "DELETE products/:id": (state, params, ids) => {
    rejectUnknown(params, []);
    return deleteProduct(state, idAt(ids));
  },
  "GET products": (state, params) => listProducts(state, params),

  "POST products/:id/features": (state, params, ids) => {
    rejectUnknown(params, ["entitlement_feature", "expand"]);
    return attachFeature(state, idAt(ids), requiredString(params, "entitlement_feature"));
  },
  "GET products/:id/features": (state, params, ids) => {
    rejectUnknown(params, PAGINATION);
    state.product(idAt(ids));
    const attached = state.productFeatures.get(idAt(ids)) ?? [];
    // Attachments have no time of their own: they list in the order made, newest first.
    return paginate(attached, () => true, params, `/v1/products/${idAt(ids)}/features`);
  },
  "GET products/:id/features/:id": (state, params, ids) => {
    rejectUnknown(params, ["expand"]);
    return productFeature(state, idAt(ids), idAt(ids, 1));
  },
  "DELETE products/:id/features/:id": (state, params, ids) => {
    rejectUnknown(params, []);
    return detachFeature(state, idAt(ids), idAt(ids, 1));
  },

  "GET coupons/:id": (state, params, ids) => {
    rejectUnknown(params, ["expand"]);
    const coupon = state.coupons.get(idAt(ids));
    if (!coupon) throw resourceMissing("coupon", idAt(ids));
    return coupon;
  },
  "GET promotion_codes/:id": (state, params, ids) => {
    rejectUnknown(params, ["expand"]);
    const promotion = state.promotionCodes.get(idAt(ids));
    if (!promotion) throw resourceMissing("promotion_code", idAt(ids));
    return promotion;
  },
  "GET promotion_codes": (state, params) => listPromotionCodes(state, params),
};
