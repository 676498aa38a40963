/**
 * Plans in tests: prices of their own at the emulator (each test makes its own, so that none
 * changes another's), the options bodies checkout and portal read, the catalog table as rows,
 * and the Stripe writes a request made.
 */
import type { Stripe } from "../../supabase/functions/_shared/stripe.ts";
import type { Harness } from "./harness.ts";

/** A price of its own, on a product of its own, with a lookup key no other test uses. */
export interface TestPlan {
  price: Stripe.Price;
  product: Stripe.Product;
  lookupKey: string;
}

/** Options of {@link createPlan}. */
export interface PlanOptions {
  /** A one-time price instead of a monthly one. */
  oneTime?: boolean;
  /** Lookup keys of features to create and attach to the product. */
  features?: string[];
  unitAmount?: number;
  name?: string;
}

/** Creates a product and a monthly price (or a one-time one) with a fresh lookup key. */
export async function createPlan(h: Harness, options: PlanOptions = {}): Promise<TestPlan> {
  const suffix = crypto.randomUUID().slice(0, 8);
  const lookupKey = `plan_${suffix}`;
  const product = await h.stripe.products.create({
    name: options.name ?? `Plan ${suffix}`,
    description: `The plan ${suffix}`,
  });
  const price = await h.stripe.prices.create({
    product: product.id,
    currency: "usd",
    unit_amount: options.unitAmount ?? 1500,
    lookup_key: lookupKey,
    ...(!options.oneTime && { recurring: { interval: "month" } }),
  });
  for (const key of options.features ?? []) {
    const feature = await h.stripe.entitlements.features.create({
      name: key,
      lookup_key: `${key}_${suffix}`,
    });
    await h.stripe.products.createFeature(product.id, { entitlement_feature: feature.id });
  }
  return { price, product, lookupKey };
}

/** A request body of JSON options (`{"price": ...}`, `{"flow": ...}`). */
export function jsonBody(options: unknown): RequestInit {
  return { body: JSON.stringify(options), headers: { "Content-Type": "application/json" } };
}

/** A row of `public.billing_plans` as the tests read it. */
export interface PlanTableRow {
  price_id: string;
  lookup_key: string | null;
  product_id: string;
  name: string;
  description: string | null;
  unit_amount: string | null;
  currency: string;
  interval: string | null;
  interval_count: number | null;
  trial_days: number | null;
  features: string[];
  is_default: boolean;
  active: boolean;
  updated_at: Date;
}

/** The catalog table's rows of these prices (every row without), by price id. */
export async function planRows(h: Harness, priceIds?: readonly string[]): Promise<PlanTableRow[]> {
  const rows = await h.sql<PlanTableRow[]>`
    select price_id, lookup_key, product_id, name, description, unit_amount::text as unit_amount,
      currency, interval, interval_count, trial_days, features, is_default, active, updated_at
    from public.billing_plans order by price_id`;
  return [...rows].filter((row) => priceIds === undefined || priceIds.includes(row.price_id));
}

/** The Stripe calls since `mark` that write (POST and DELETE), as `METHOD path`. */
export function stripeWritesSince(h: Harness, mark: number): string[] {
  return h.emulator.requests().slice(mark)
    .filter((request) => request.method !== "GET")
    .map((request) => `${request.method} ${request.path}`);
}

/** The Stripe calls since `mark` that read a path starting with `prefix`. */
export function stripeReadsSince(h: Harness, mark: number, prefix: string): string[] {
  return h.emulator.requests().slice(mark)
    .filter((request) => request.method === "GET" && request.path.startsWith(prefix))
    .map((request) => `${request.method} ${request.path}`);
}
