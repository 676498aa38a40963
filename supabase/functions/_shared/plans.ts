/**
 * The plans a user may buy: the allowed prices (`STRIPE_PRICE_ID` and `STRIPE_PRICE_IDS`, each a
 * price id or a lookup key), how a requested one is told apart from any other price of the
 * account, and the catalog of them read from Stripe (prices, products, entitlement features).
 */
import type { Config } from "./config.ts";
import { isMissingObject, type Stripe } from "./stripe.ts";

/** Which prices can be bought, and the trial checkout gives a first subscription. */
export interface PlanSettings {
  /** The price of a checkout that asks for none: a price id or a lookup key. */
  defaultPrice: string;
  /** Every allowed price, the default first, each a price id or a lookup key, without repeats. */
  prices: readonly string[];
  /** Trial days of a user's first subscription, or null. */
  trialDays: number | null;
}

/** The plan settings of a loaded configuration. */
export function planSettings(
  config: Pick<Config, "stripePriceId" | "stripePriceIds" | "trialDays">,
): PlanSettings {
  return {
    defaultPrice: config.stripePriceId,
    prices: [...new Set([config.stripePriceId, ...config.stripePriceIds])],
    trialDays: config.trialDays,
  };
}

/** True when a price reference is an id (`price_...`) rather than a lookup key. */
export function isPriceId(reference: string): boolean {
  return reference.startsWith("price_");
}

/** True when a price is one of the allowed ones, by its id or by its lookup key. */
export function isAllowedPrice(
  settings: PlanSettings,
  price: { id: string; lookupKey: string | null },
): boolean {
  return settings.prices.some((reference) =>
    reference === price.id || (price.lookupKey !== null && reference === price.lookupKey)
  );
}

/** A price as checkout decides on it: which one it is and whether it can be sold. */
export interface PriceFacts {
  id: string;
  lookupKey: string | null;
  /** The price and its product are active. */
  active: boolean;
  recurring: boolean;
}

/** One row of `public.billing_plans` (SPEC "Plans, trials and entitlements"). */
export interface PlanRow {
  price_id: string;
  lookup_key: string | null;
  product_id: string;
  name: string;
  description: string | null;
  unit_amount: number | null;
  currency: string;
  interval: string | null;
  interval_count: number | null;
  trial_days: number | null;
  features: string[];
  is_default: boolean;
  active: boolean;
}

/** The catalog as Stripe has it now. */
export interface CatalogRead {
  plans: PlanRow[];
  /** Allowed price ids Stripe no longer has, and allowed lookup keys no price holds. */
  missing: string[];
  /** Stripe list pages read (the sync's budget counts them). */
  pages: number;
}

/** The product of a price, when it was expanded and not deleted. */
function productOf(price: Stripe.Price): Stripe.Product | null {
  const product = price.product;
  return typeof product === "object" && product !== null &&
      !("deleted" in product && product.deleted)
    ? product as Stripe.Product
    : null;
}

/** The facts checkout needs about a price read from Stripe. */
export function priceFacts(price: Stripe.Price): PriceFacts {
  const product = productOf(price);
  return {
    id: price.id,
    lookupKey: price.lookup_key,
    active: price.active && (product === null || product.active),
    recurring: price.recurring !== null,
  };
}

/** Maps a price (with its product expanded) and the product's features to a catalog row. */
export function toPlanRow(
  price: Stripe.Price,
  features: readonly string[],
  settings: PlanSettings,
): PlanRow {
  const product = productOf(price);
  const productId = typeof price.product === "string" ? price.product : price.product.id;
  return {
    price_id: price.id,
    lookup_key: price.lookup_key,
    product_id: productId,
    name: product?.name ?? productId,
    description: product?.description ?? null,
    unit_amount: price.unit_amount,
    currency: price.currency,
    interval: price.recurring?.interval ?? null,
    interval_count: price.recurring?.interval_count ?? null,
    trial_days: price.recurring === null ? null : settings.trialDays,
    features: [...features],
    is_default: settings.defaultPrice === price.id || settings.defaultPrice === price.lookup_key,
    active: priceFacts(price).active,
  };
}

/** Stripe's most lookup keys in one price list. */
export const LOOKUP_KEYS_PER_LIST = 10;

/**
 * The allowed prices at Stripe, their products expanded: one list page per 10 lookup keys and
 * one read per price id. References that resolve to no price are returned as missing.
 */
export async function readAllowedPrices(
  stripe: Stripe,
  settings: PlanSettings,
): Promise<{ prices: Stripe.Price[]; missing: string[]; pages: number }> {
  const keys = settings.prices.filter((reference) => !isPriceId(reference));
  const ids = settings.prices.filter(isPriceId);
  const found = new Map<string, Stripe.Price>();
  let pages = 0;
  for (let i = 0; i < keys.length; i += LOOKUP_KEYS_PER_LIST) {
    const page = await stripe.prices.list({
      lookup_keys: keys.slice(i, i + LOOKUP_KEYS_PER_LIST),
      limit: 100,
      expand: ["data.product"],
    });
    pages++;
    for (const price of page.data) found.set(price.id, price);
  }
  const missing = keys.filter((key) => ![...found.values()].some((p) => p.lookup_key === key));
  for (const id of ids) {
    if (found.has(id)) continue;
    try {
      found.set(id, await stripe.prices.retrieve(id, { expand: ["product"] }));
    } catch (error) {
      if (!isMissingObject(error)) throw error;
      missing.push(id);
    }
  }
  return { prices: [...found.values()], missing, pages };
}

/** The lookup keys of a product's entitlement features, every page of them. */
async function readFeatures(
  stripe: Stripe,
  productId: string,
): Promise<{ features: string[]; pages: number }> {
  const features: string[] = [];
  let pages = 0;
  let after: string | undefined;
  while (true) {
    const page = await stripe.products.listFeatures(productId, {
      limit: 100,
      ...(after !== undefined && { starting_after: after }),
    });
    pages++;
    features.push(...page.data.map((attached) => attached.entitlement_feature.lookup_key));
    after = page.data.at(-1)?.id;
    if (!page.has_more || after === undefined) break;
  }
  return { features: [...new Set(features)].sort(), pages };
}

/**
 * The most list pages a catalog read takes: one per 10 lookup keys and one per product (at
 * most one per allowed price), for a product of up to 100 features.
 */
export function catalogPageBound(settings: PlanSettings): number {
  const keys = settings.prices.filter((reference) => !isPriceId(reference)).length;
  return Math.ceil(keys / LOOKUP_KEYS_PER_LIST) + settings.prices.length;
}

/** Reads the whole catalog of allowed prices from Stripe. */
export async function readCatalog(stripe: Stripe, settings: PlanSettings): Promise<CatalogRead> {
  const { prices, missing, pages: pricePages } = await readAllowedPrices(stripe, settings);
  let pages = pricePages;
  const featuresOf = new Map<string, string[]>();
  for (const price of prices) {
    const productId = typeof price.product === "string" ? price.product : price.product.id;
    if (featuresOf.has(productId)) continue;
    const read = await readFeatures(stripe, productId);
    pages += read.pages;
    featuresOf.set(productId, read.features);
  }
  const plans = prices.map((price) => {
    const productId = typeof price.product === "string" ? price.product : price.product.id;
    return toPlanRow(price, featuresOf.get(productId) ?? [], settings);
  }).sort((a, b) => a.price_id.localeCompare(b.price_id));
  return { plans, missing, pages };
}

/** How long a worker trusts the prices it resolved at Stripe. */
export const PRICE_CACHE_MS = 5 * 60 * 1000;

/** Finds an allowed price by id or lookup key; undefined when none of the allowed ones is it. */
export type PriceResolver = (reference: string) => Promise<PriceFacts | undefined>;

/**
 * Checkout's fallback when the catalog table does not know a lookup key yet (no sync has run):
 * the allowed lookup keys resolved at Stripe once per worker (one list call per 10 keys) and kept
 * for {@link PRICE_CACHE_MS}, so that no checkout waits on more than that one resolution.
 */
export function createPriceResolver(
  stripe: Stripe,
  settings: PlanSettings,
  options: { maxAgeMs?: number; now?: () => number } = {},
): PriceResolver {
  const maxAgeMs = options.maxAgeMs ?? PRICE_CACHE_MS;
  const now = options.now ?? (() => Date.now());
  let cached: { at: number; prices: Promise<PriceFacts[]> } | undefined;
  return async (reference) => {
    if (cached === undefined || now() - cached.at > maxAgeMs) {
      // Lookup keys only: a price id needs no resolving.
      const keys = { ...settings, prices: settings.prices.filter((ref) => !isPriceId(ref)) };
      const prices = readAllowedPrices(stripe, keys).then((read) => read.prices.map(priceFacts));
      cached = { at: now(), prices };
      // A failed resolution is not kept: the next checkout tries again.
      prices.catch(() => {
        if (cached?.prices === prices) cached = undefined;
      });
    }
    const prices = await cached.prices;
    return prices.find((price) =>
      (price.id === reference || price.lookupKey === reference) && isAllowedPrice(settings, price)
    );
  };
}
