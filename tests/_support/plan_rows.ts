/**
 * Rows of `public.billing_plans` for the emulator's seeded catalog, as the sync's catalog step
 * writes them, for tests of the pages that list plans.
 */
import type { Sql } from "../../dev/postgres.ts";
import { CATALOG, DEFAULT_PRICE_ID } from "../../dev/stripe/mod.ts";

/** One plan row. */
export interface PlanRow {
  price_id: string;
  lookup_key: string;
  product_id: string;
  name: string;
  description: string;
  unit_amount: number;
  currency: string;
  interval: "month" | "year";
  interval_count: number;
  trial_days: number | null;
  features: string[];
  is_default: boolean;
  active: boolean;
}

const BASIC: Pick<PlanRow, "product_id" | "name" | "description" | "features"> = {
  product_id: CATALOG.products.basic,
  name: "Basic",
  description: "For one person getting started",
  features: [CATALOG.features.projects.lookupKey],
};
const PRO: typeof BASIC = {
  product_id: CATALOG.products.pro,
  name: "Pro",
  description: "For teams that ship every day",
  features: [
    CATALOG.features.projects.lookupKey,
    CATALOG.features.prioritySupport.lookupKey,
    CATALOG.features.apiAccess.lookupKey,
  ],
};

function plan(
  product: typeof BASIC,
  priceId: string,
  lookupKey: string,
  unitAmount: number,
  interval: "month" | "year",
): PlanRow {
  return {
    ...product,
    price_id: priceId,
    lookup_key: lookupKey,
    unit_amount: unitAmount,
    currency: "usd",
    interval,
    interval_count: 1,
    trial_days: null,
    is_default: priceId === DEFAULT_PRICE_ID,
    active: true,
  };
}

/** The four seeded prices as plan rows (Pro monthly is the default). */
export const CATALOG_PLANS: PlanRow[] = [
  plan(BASIC, CATALOG.prices.basicMonthly, CATALOG.lookupKeys.basicMonthly, 500, "month"),
  plan(BASIC, CATALOG.prices.basicYearly, CATALOG.lookupKeys.basicYearly, 5000, "year"),
  plan(PRO, CATALOG.prices.proMonthly, CATALOG.lookupKeys.proMonthly, 1000, "month"),
  plan(PRO, CATALOG.prices.proYearly, CATALOG.lookupKeys.proYearly, 10000, "year"),
];

/** Writes `plans` (the catalog's by default) into `public.billing_plans`. */
export async function insertPlans(sql: Sql, plans: PlanRow[] = CATALOG_PLANS): Promise<void> {
  for (const plan of plans) {
    await sql`
      insert into public.billing_plans ${sql(plan)}
      on conflict (price_id) do update set active = excluded.active`;
  }
}
