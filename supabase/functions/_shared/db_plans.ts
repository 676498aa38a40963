/**
 * The plan catalog's writes: `public.billing_plans` replaced by what Stripe says now, under the
 * catalog's lock, by the sync's catalog step and by price and product events.
 */
import {
  type ApplyOutcome,
  type Database,
  type LedgerEvent,
  lockedTransaction,
  rowsOf,
} from "./db.ts";
import type { PlanRef } from "./events.ts";
import { type SqlText, statement, type Transaction } from "./pg/mod.ts";
import { type CatalogRead, isPriceId, type PlanSettings } from "./plans.ts";

/** Reads the whole catalog of allowed prices at Stripe now. */
export type CatalogReader = () => Promise<CatalogRead>;

/**
 * The statements that make the table equal to `catalog`: every allowed price's row written
 * (changed rows only, so that an unchanged catalog keeps its `updated_at`); an allowed price that
 * Stripe no longer has, or a lookup key no price holds any more, keeps its row with `active`
 * false; a row of any other price (one that lost its allowed lookup key, or left the settings)
 * goes.
 */
function writeCatalogStatement(catalog: CatalogRead): SqlText {
  const ids = catalog.plans.map((plan) => plan.price_id);
  return statement`
    insert into public.billing_plans as b (
      price_id, lookup_key, product_id, name, description, unit_amount, currency, interval,
      interval_count, trial_days, features, is_default, active
    )
    select price_id, lookup_key, product_id, name, description, unit_amount, currency, interval,
      interval_count, trial_days, features, is_default, active
    from jsonb_to_recordset(${JSON.stringify(catalog.plans)}::jsonb) as r (
      price_id text, lookup_key text, product_id text, name text, description text,
      unit_amount bigint, currency text, interval text, interval_count integer,
      trial_days integer, features text[], is_default boolean, active boolean
    )
    on conflict (price_id) do update set
      lookup_key = excluded.lookup_key,
      product_id = excluded.product_id,
      name = excluded.name,
      description = excluded.description,
      unit_amount = excluded.unit_amount,
      currency = excluded.currency,
      interval = excluded.interval,
      interval_count = excluded.interval_count,
      trial_days = excluded.trial_days,
      features = excluded.features,
      is_default = excluded.is_default,
      active = excluded.active,
      updated_at = now()
    where (b.lookup_key, b.product_id, b.name, b.description, b.unit_amount, b.currency,
        b.interval, b.interval_count, b.trial_days, b.features, b.is_default, b.active)
      is distinct from (excluded.lookup_key, excluded.product_id, excluded.name,
        excluded.description, excluded.unit_amount, excluded.currency, excluded.interval,
        excluded.interval_count, excluded.trial_days, excluded.features, excluded.is_default,
        excluded.active)
    returning price_id;
    update public.billing_plans set active = false, updated_at = now()
    where active and price_id <> all(${ids})
      and (price_id = any(${catalog.missing}) or coalesce(lookup_key = any(${catalog.missing}), false))
    returning price_id;
    delete from public.billing_plans
    where price_id <> all(${ids})
      and not (price_id = any(${catalog.missing})
        or coalesce(lookup_key = any(${catalog.missing}), false))
    returning price_id`;
}

/** A catalog read and written: what Stripe had, and how many rows that changed. */
export interface CatalogRefresh extends CatalogRead {
  changed: number;
}

async function writeCatalog(tx: Transaction, read: CatalogReader): Promise<CatalogRefresh> {
  const catalog = await read();
  const results = await tx.commit(writeCatalogStatement(catalog));
  const changed = [0, 1, 2].reduce((sum, index) => sum + rowsOf(results, index).length, 0);
  return { ...catalog, changed };
}

/**
 * Replaces the catalog with a fresh read, in one transaction of two round trips under the
 * catalog's lock (the lock first, then the read, then the write and the commit), so that it and
 * a price event applied at the same time write one after the other, each what Stripe says then.
 */
export async function refreshCatalog(db: Database, read: CatalogReader): Promise<CatalogRefresh> {
  const result = await lockedTransaction(
    db,
    { kind: "catalog" },
    undefined,
    (tx) => writeCatalog(tx, read),
  );
  if (result === "duplicate") throw new Error("A catalog refresh without an event was a duplicate");
  return result;
}

/** True when the settings name the price, by id or by one of its lookup keys (before or after). */
function namedBySettings(settings: PlanSettings, plan: PlanRef): boolean {
  return settings.prices.some((reference) =>
    isPriceId(reference) ? reference === plan.priceId : plan.lookupKeys.includes(reference)
  );
}

/**
 * Applies a price or product event exactly once. An event about an allowed plan (named by the
 * settings, or whose price or product the catalog holds) refreshes the whole catalog from
 * Stripe under its lock, with the ledger row in the same transaction; any other is recorded in
 * the ledger only ("skipped").
 */
export async function applyPlanEventOnce(
  db: Database,
  event: LedgerEvent,
  plan: PlanRef,
  settings: PlanSettings,
  read: CatalogReader,
): Promise<ApplyOutcome> {
  return await lockedTransaction(
    db,
    { kind: "catalog", priceId: plan.priceId, productId: plan.productId },
    event,
    async (tx, claim) => {
      if (!claim.known && !namedBySettings(settings, plan)) {
        await tx.commit();
        return "skipped";
      }
      await writeCatalog(tx, read);
      return "applied";
    },
  );
}
