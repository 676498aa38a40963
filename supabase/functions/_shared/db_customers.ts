/**
 * Writes about one Stripe customer, under that customer's lock: its active entitlements onto the
 * profile that holds it, and its deletion at Stripe (a tombstone, and the profile without it).
 */
import {
  type ApplyOutcome,
  type Database,
  type LedgerEvent,
  lockedTransaction,
  rowsOf,
} from "./db.ts";
import type { EntitlementsRead } from "./entitlements.ts";
import { statement } from "./pg/mod.ts";

/** Reads the customer's active entitlements at Stripe now; "gone" when it has no such customer. */
export type EntitlementsReader = () => Promise<EntitlementsRead | "gone">;

/**
 * Writes the customer's active entitlements onto the profile holding the customer, in one
 * transaction of two round trips: the first records `event` in the ledger (when there is one:
 * the sync's refresh after a repair has none) and takes the customer's lock; then `read` asks
 * Stripe; the second writes and commits. So concurrent and reordered summaries of one customer
 * apply one after the other, each with what Stripe says then. A deleted customer's entitlements
 * are never written back.
 */
export async function writeEntitlements(
  db: Database,
  customerId: string,
  read: EntitlementsReader,
  event?: LedgerEvent,
): Promise<ApplyOutcome> {
  return await lockedTransaction(db, { kind: "customer", id: customerId }, event, async (tx) => {
    const entitlements = await read();
    if (entitlements === "gone") {
      await tx.commit();
      return "gone";
    }
    const [row] = rowsOf<{ deleted: boolean; written: number }>(
      await tx.commit(statement`
        with deleted as (
          select exists (
            select 1 from public.billing_deleted_customers where customer_id = ${customerId}
          ) as yes
        ),
        written as (
          update public.profiles set
            entitlements = ${entitlements.features}::text[],
            updated_at = case
              when entitlements is distinct from ${entitlements.features}::text[] then now()
              else updated_at
            end
          where stripe_customer_id = ${customerId} and not (select yes from deleted)
          returning 1
        )
        select (select yes from deleted) as deleted, (select count(*) from written)::int as written`),
    );
    if (row?.deleted) return "customer_deleted";
    return row !== undefined && row.written > 0 ? "applied" : "unmatched";
  });
}

/**
 * Applies `customer.deleted` exactly once: the tombstone that makes every later write of the
 * customer's subscriptions or entitlements a no-op, and the profile that held the customer left
 * without it (status `canceled`, no subscription, no entitlements), in one transaction under the
 * customer's lock. The profile ends the same whichever order the customer's other events come
 * in: those applied before are overwritten, those applied after write nothing.
 */
export async function deleteCustomerOnce(
  db: Database,
  event: LedgerEvent,
  customerId: string,
): Promise<ApplyOutcome> {
  return await lockedTransaction(db, { kind: "customer", id: customerId }, event, async (tx) => {
    const cleared = rowsOf(
      await tx.commit(statement`
        insert into public.billing_deleted_customers (customer_id) values (${customerId})
        on conflict (customer_id) do nothing;
        update public.profiles set
          stripe_customer_id = null,
          stripe_subscription_id = null,
          subscription_status = 'canceled',
          price_id = null,
          current_period_end = null,
          cancel_at_period_end = false,
          cancel_at = null,
          canceled_at = null,
          trial_end = null,
          subscription_created_at = null,
          entitlements = '{}',
          updated_at = now()
        where stripe_customer_id = ${customerId}
        returning 1`),
      1,
    );
    return cleared.length > 0 ? "applied" : "unmatched";
  });
}
