/**
 * Helpers for Stripe's wire objects (ids, copies, decimals, periods, amounts, lists) and the
 * builders of the catalog and customer objects, in the shape API 2026-10-28.endive sends with
 * every field present.
 */
import type { Stripe } from "../../supabase/functions/_shared/stripe.ts";

const ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/** Random letters and digits. */
export function randomChars(length: number): string {
  const bytes = crypto.getRandomValues(new Uint8Array(length));
  let chars = "";
  for (const byte of bytes) chars += ALPHABET[byte % ALPHABET.length];
  return chars;
}

/** A Stripe-looking id: `cus_` followed by random letters and digits. */
export function newId(prefix: string, length = 14): string {
  return `${prefix}_${randomChars(length)}`;
}

/**
 * A decimal field's value. On the wire a decimal is its string, and every object the emulator
 * holds reaches a client only through JSON, so the string is all a decimal needs to be here.
 */
export function decimal(value: string | number): Stripe.Decimal {
  return String(value) as unknown as Stripe.Decimal;
}

/** A deep copy as the wire sees it (Decimal values become their string form). */
export function snapshot<T>(value: T): T {
  return JSON.parse(JSON.stringify(value));
}

/** Adds `count` intervals to a timestamp the way Stripe's billing cycle does (UTC calendar). */
export function addInterval(
  seconds: number,
  interval: Stripe.Price.Recurring.Interval,
  count: number,
): number {
  const date = new Date(seconds * 1000);
  switch (interval) {
    case "day":
      date.setUTCDate(date.getUTCDate() + count);
      break;
    case "week":
      date.setUTCDate(date.getUTCDate() + 7 * count);
      break;
    case "year":
      date.setUTCFullYear(date.getUTCFullYear() + count);
      break;
    default: {
      // Month ends clamp: Jan 31 + 1 month is Feb 28/29, as Stripe bills it.
      const day = date.getUTCDate();
      date.setUTCDate(1);
      date.setUTCMonth(date.getUTCMonth() + count);
      const last = new Date(Date.UTC(date.getUTCFullYear(), date.getUTCMonth() + 1, 0))
        .getUTCDate();
      date.setUTCDate(Math.min(day, last));
    }
  }
  return Math.floor(date.getTime() / 1000);
}

/** What a product is made of. */
export interface ProductFields {
  id: string;
  name: string;
  description?: string | null;
  metadata?: Record<string, string>;
  active?: boolean;
  created: number;
  livemode: boolean;
}

/** A product. */
export function productObject(fields: ProductFields): Stripe.Product {
  return {
    id: fields.id,
    object: "product",
    active: fields.active ?? true,
    created: fields.created,
    default_price: null,
    description: fields.description ?? null,
    images: [],
    livemode: fields.livemode,
    marketing_features: [],
    metadata: fields.metadata ?? {},
    name: fields.name,
    package_dimensions: null,
    shippable: null,
    statement_descriptor: null,
    tax_code: null,
    tax_details: null,
    type: "service",
    unit_label: null,
    updated: fields.created,
    url: null,
  };
}

/** What a price is made of. */
export interface PriceFields {
  id: string;
  product: string;
  unitAmount: number;
  currency: string;
  recurring: { interval: Stripe.Price.Recurring.Interval; intervalCount: number } | null;
  nickname?: string | null;
  lookupKey?: string | null;
  metadata?: Record<string, string>;
  active?: boolean;
  created: number;
  livemode: boolean;
}

/** A price (per-unit, licensed). */
export function priceObject(fields: PriceFields): Stripe.Price {
  return {
    id: fields.id,
    object: "price",
    active: fields.active ?? true,
    billing_scheme: "per_unit",
    created: fields.created,
    currency: fields.currency,
    custom_unit_amount: null,
    livemode: fields.livemode,
    lookup_key: fields.lookupKey ?? null,
    metadata: fields.metadata ?? {},
    nickname: fields.nickname ?? null,
    product: fields.product,
    recurring: fields.recurring
      ? {
        interval: fields.recurring.interval,
        interval_count: fields.recurring.intervalCount,
        meter: null,
        trial_period_days: null,
        usage_type: "licensed",
      }
      : null,
    tax_behavior: "unspecified",
    tiers_mode: null,
    transform_quantity: null,
    type: fields.recurring ? "recurring" : "one_time",
    unit_amount: fields.unitAmount,
    unit_amount_decimal: decimal(fields.unitAmount),
  };
}

/** The legacy plan that Stripe still mirrors on subscription items. */
export function planObject(price: Stripe.Price): Stripe.Plan {
  return {
    id: price.id,
    object: "plan",
    active: price.active,
    amount: price.unit_amount,
    amount_decimal: price.unit_amount_decimal,
    billing_scheme: price.billing_scheme,
    created: price.created,
    currency: price.currency,
    interval: price.recurring?.interval ?? "month",
    interval_count: price.recurring?.interval_count ?? 1,
    livemode: price.livemode,
    metadata: price.metadata,
    meter: null,
    nickname: price.nickname,
    product: price.product,
    tiers_mode: null,
    transform_usage: null,
    trial_period_days: null,
    usage_type: "licensed",
  };
}

/** What a customer is made of. */
export interface CustomerFields {
  id: string;
  email: string | null;
  name: string | null;
  description: string | null;
  phone: string | null;
  metadata: Record<string, string>;
  created: number;
  livemode: boolean;
}

/** A customer. */
export function customerObject(fields: CustomerFields): Stripe.Customer {
  return {
    id: fields.id,
    object: "customer",
    address: null,
    balance: 0,
    created: fields.created,
    currency: null,
    customer_account: null,
    default_source: null,
    delinquent: false,
    description: fields.description,
    discount: null,
    email: fields.email,
    invoice_prefix: fields.id.slice(4, 12).toUpperCase(),
    invoice_settings: {
      custom_fields: null,
      default_payment_method: null,
      footer: null,
      rendering_options: null,
    },
    livemode: fields.livemode,
    metadata: fields.metadata,
    name: fields.name,
    next_invoice_sequence: 1,
    phone: fields.phone,
    preferred_locales: [],
    shipping: null,
    tax_exempt: "none",
    test_clock: null,
  };
}

/** `$10.00`-style amount for a currency in minor units. */
export function formatAmount(minor: number, currency: string): string {
  return new Intl.NumberFormat("en-US", { style: "currency", currency: currency.toUpperCase() })
    .format(minor / 100);
}

/** A Stripe list object. */
export function listObject<T>(data: T[], url: string, hasMore = false): Stripe.ApiList<T> {
  return { object: "list", data, has_more: hasMore, url };
}
