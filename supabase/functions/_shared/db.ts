/** Postgres access: the only module that imports the Postgres driver. */
import postgres from "npm:postgres@3.4.9";
import { isLive, LIVE_STATUSES, type ProfileUpdate } from "./subscription.ts";

export type Sql = postgres.Sql;
export type TransactionSql = postgres.TransactionSql;

/** Options for {@link connect}. */
export interface ConnectOptions {
  /** Most connections the pool opens. */
  max?: number;
  /** Called with each statement sent (the benchmarks count round trips with it). */
  onQuery?: (query: string) => void;
}

/**
 * Opens a connection pool. `prepare: false` keeps it usable through Supabase's transaction
 * pooler, which cannot hold named prepared statements across transactions.
 */
export function connect(url: string, options: ConnectOptions = {}): Sql {
  return postgres(url, {
    prepare: false,
    max: options.max ?? 10,
    idle_timeout: 30,
    connect_timeout: 10,
    onnotice: () => {},
    ...(options.onQuery && { debug: (_connection, query) => options.onQuery?.(query) }),
  });
}

/** What checkout and portal need to know about a user's billing. */
export interface BillingProfile {
  status: string | null;
  customerId: string | null;
}

/** Reads a user's billing state in one query; undefined when the user has no profile. */
export async function findBillingProfile(
  sql: Sql,
  userId: string,
): Promise<BillingProfile | undefined> {
  const rows = await sql<{ status: string | null; customer_id: string | null }[]>`
    select subscription_status as status, stripe_customer_id as customer_id
    from public.profiles where id = ${userId}`;
  const row = rows[0];
  return row && { status: row.status, customerId: row.customer_id };
}

/** Stores the user's Stripe customer. */
export async function saveCustomerId(sql: Sql, userId: string, customerId: string): Promise<void> {
  await sql`
    update public.profiles set stripe_customer_id = ${customerId}, updated_at = now()
    where id = ${userId}`;
}

/** A Stripe event as the ledger records it. */
export interface LedgerEvent {
  id: string;
  type: string;
}

/** How applying one event ended. */
export type ApplyOutcome =
  /** The profile now holds the subscription's state. */
  | "applied"
  /** The event was applied before; nothing changed. */
  | "duplicate"
  /** No profile matches the subscription's user or customer; logged and acknowledged. */
  | "unmatched"
  /** The profile tracks a newer or live subscription; this older one does not replace it. */
  | "superseded";

/**
 * Applies one event exactly once, in one transaction: records its id in the ledger, locks its
 * subscription, asks `read` for the subscription's current state (so concurrent events for one
 * subscription apply one after the other, each with fresh state), and writes the profile. The
 * ledger row and the profile change commit together or not at all.
 *
 * Two round trips: BEGIN is pipelined with the claim, and COMMIT with the write. A COMMIT that
 * follows a failed statement ends the transaction as a rollback, so nothing partial commits.
 */
export async function applyEventOnce(
  sql: Sql,
  event: LedgerEvent,
  subscriptionId: string,
  read: () => Promise<ProfileUpdate>,
): Promise<ApplyOutcome> {
  const connection = await sql.reserve();
  let settled = false;
  try {
    const [, [claim]] = await Promise.all([
      connection`begin`,
      connection<{ fresh: boolean }[]>`
        with inserted as (
          insert into public.stripe_events (id, type) values (${event.id}, ${event.type})
          on conflict (id) do nothing
          returning 1
        )
        select exists (select 1 from inserted) as fresh,
          pg_advisory_xact_lock(hashtextextended(${subscriptionId}, 0)) is null as locked`,
    ]);
    if (!claim?.fresh) {
      await connection`commit`;
      settled = true;
      return "duplicate";
    }
    const update = await read();
    const [written] = await Promise.all([
      writeSubscription(connection, update),
      connection`commit`,
    ]);
    settled = true;
    return written ? "applied" : await unappliedOutcome(connection, update);
  } finally {
    if (!settled) await connection`rollback`.catch(() => {});
    connection.release();
  }
}

/**
 * Writes a subscription onto the profile of its user (by `metadata.userId`, else by customer).
 * A profile keeps the subscription that ranks highest: live before ended, then newest. Returns
 * whether a row changed.
 */
async function writeSubscription(tx: Sql, update: ProfileUpdate): Promise<boolean> {
  const rows = await tx`
    update public.profiles p set
      stripe_customer_id = ${update.customerId},
      stripe_subscription_id = ${update.subscriptionId},
      subscription_status = ${update.status},
      price_id = ${update.priceId},
      current_period_end = ${update.currentPeriodEnd},
      cancel_at_period_end = ${update.cancelAtPeriodEnd},
      cancel_at = ${update.cancelAt},
      canceled_at = ${update.canceledAt},
      trial_end = ${update.trialEnd},
      subscription_created_at = ${update.createdAt},
      updated_at = now()
    where p.id = coalesce(
        (select id from public.profiles where id = ${update.userId}),
        (select id from public.profiles where stripe_customer_id = ${update.customerId}))
      and (
        p.stripe_subscription_id is null
        or p.stripe_subscription_id = ${update.subscriptionId}
        or (${isLive(update.status)}, ${update.createdAt}::timestamptz)
          >= (coalesce(p.subscription_status = any(${LIVE_STATUSES as string[]}::text[]), false),
              coalesce(p.subscription_created_at, '-infinity'))
      )
    returning 1`;
  return rows.length > 0;
}

/** Why an event changed no profile: none matches, or the profile holds a higher-ranked one. */
async function unappliedOutcome(sql: Sql, update: ProfileUpdate): Promise<ApplyOutcome> {
  const [row] = await sql<{ known: boolean }[]>`
    select exists (
      select 1 from public.profiles
      where id = ${update.userId} or stripe_customer_id = ${update.customerId}
    ) as known`;
  return row?.known ? "superseded" : "unmatched";
}
