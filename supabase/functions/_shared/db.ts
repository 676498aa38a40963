/** Postgres access: the functions' statements, sent through the client in `pg/`. */
import { createPool, type Pool, type QueryResult, type SqlText, statement } from "./pg/mod.ts";
import { isLive, LIVE_STATUSES, type ProfileUpdate } from "./subscription.ts";

/** Options for {@link connectDatabase}. */
export interface DatabaseOptions {
  /** Most connections the pool opens. */
  max?: number;
  /** Milliseconds a query may wait for the database's answer (15 s by default). */
  queryTimeoutMs?: number;
  /** Called with the text of each query sent (the benchmarks count them). */
  onQuery?: (text: string) => void;
}

/** The functions' database: a pool of connections that the queries below run on. */
export type Database = Pool;

/**
 * Opens a connection pool (connections open on first use). Every statement goes out as SQL text
 * with the simple protocol, for the reasons given at {@link statement}.
 */
export function connectDatabase(url: string, options: DatabaseOptions = {}): Database {
  return createPool(url, {
    max: options.max ?? 10,
    idleTimeoutMs: 30_000,
    connectTimeoutMs: 10_000,
    queryTimeoutMs: options.queryTimeoutMs ?? 15_000,
    ...(options.onQuery && { onQuery: options.onQuery }),
  });
}

/** The rows of the statement at `index` of a query's results. */
export function rowsOf<T>(results: QueryResult[], index = 0): T[] {
  return (results[index]?.rows ?? []) as T[];
}

/** What checkout and portal need to know about a user's billing. */
export interface BillingProfile {
  status: string | null;
  customerId: string | null;
}

/** Reads a user's billing state in one round trip; undefined when the user has no profile. */
export async function findBillingProfile(
  db: Database,
  userId: string,
): Promise<BillingProfile | undefined> {
  const [row] = rowsOf<{ status: string | null; customer_id: string | null }>(
    await db.query(statement`
      select subscription_status as status, stripe_customer_id as customer_id
      from public.profiles where id = ${userId}::uuid`),
  );
  return row && { status: row.status, customerId: row.customer_id };
}

/** Stores the user's Stripe customer, in one round trip. */
export async function saveCustomerId(
  db: Database,
  userId: string,
  customerId: string,
): Promise<void> {
  await db.query(statement`
    update public.profiles set stripe_customer_id = ${customerId}, updated_at = now()
    where id = ${userId}::uuid`);
}

/** A Stripe event as the ledger records it. */
export interface LedgerEvent {
  id: string;
  type: string;
}

/** How applying one event (or repairing one subscription) ended. */
export type ApplyOutcome =
  /** The profile now holds the subscription's state. */
  | "applied"
  /** The event was applied before; nothing changed. */
  | "duplicate"
  /** No profile matches the subscription's user or customer; logged and acknowledged. */
  | "unmatched"
  /** The profile tracks a newer or live subscription; this older one does not replace it. */
  | "superseded"
  /** Stripe no longer has the subscription; only the ledger records the event. */
  | "gone";

/** Reads a subscription's current state at Stripe; "gone" when Stripe no longer has it. */
export type SubscriptionRead = () => Promise<ProfileUpdate | "gone">;

/**
 * Applies one event exactly once, in one transaction of two round trips: the first begins it,
 * records the event's id in the ledger and locks its subscription; then `read` asks for the
 * subscription's current state (so concurrent events for one subscription apply one after the
 * other, each with fresh state); the second writes the profile and commits. The ledger row and
 * the profile change commit together or not at all.
 */
export async function applyEventOnce(
  db: Database,
  event: LedgerEvent,
  subscriptionId: string,
  read: SubscriptionRead,
): Promise<ApplyOutcome> {
  return await writeLocked(db, subscriptionId, read, event);
}

/**
 * Writes a subscription's current state onto its profile under the same lock as
 * {@link applyEventOnce}, without an event: the sync's repair of a profile that drifted. A
 * webhook applying the same subscription at the same time waits for it, or it for the webhook,
 * and each writes what Stripe says after the other.
 */
export async function repairSubscription(
  db: Database,
  subscriptionId: string,
  read: SubscriptionRead,
): Promise<ApplyOutcome> {
  return await writeLocked(db, subscriptionId, read);
}

async function writeLocked(
  db: Database,
  subscriptionId: string,
  read: SubscriptionRead,
  event?: LedgerEvent,
): Promise<ApplyOutcome> {
  const result = await db.transaction(async (tx) => {
    if (event === undefined) {
      await tx.query(statement`
        select pg_advisory_xact_lock(hashtextextended(${subscriptionId}, 0)) is null as locked`);
    } else {
      const [claim] = rowsOf<{ fresh: boolean }>(
        await tx.query(statement`
          with inserted as (
            insert into public.stripe_events (id, type) values (${event.id}, ${event.type})
            on conflict (id) do nothing
            returning 1
          )
          select exists (select 1 from inserted) as fresh,
            pg_advisory_xact_lock(hashtextextended(${subscriptionId}, 0)) is null as locked`),
      );
      if (!claim?.fresh) return "duplicate";
    }
    const update = await read();
    if (update === "gone") {
      await tx.commit();
      return "gone";
    }
    const written = rowsOf(await tx.commit(writeStatement(update)));
    return written.length > 0 ? "applied" : update;
  });
  return typeof result === "string" ? result : await unappliedOutcome(db, result);
}

/**
 * The write of a subscription onto the profile of its user (by `metadata.userId`, else by
 * customer). A profile keeps the subscription that ranks highest: live before ended, then
 * newest, then (for two created in the same second) the greater id, so that the order events
 * arrive in never decides. Returns a row when it changed one.
 */
function writeStatement(update: ProfileUpdate): SqlText {
  return statement`
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
        (select id from public.profiles where id = ${update.userId}::uuid),
        (select id from public.profiles where stripe_customer_id = ${update.customerId}))
      and (
        p.stripe_subscription_id is null
        or p.stripe_subscription_id = ${update.subscriptionId}
        or (${isLive(update.status)}, ${update.createdAt}, ${update.subscriptionId} collate "C")
          > (coalesce(p.subscription_status = any(${LIVE_STATUSES}), false),
             coalesce(p.subscription_created_at, '-infinity'),
             p.stripe_subscription_id collate "C")
      )
    returning 1`;
}

/**
 * Why an event changed no profile: none matches, or the profile holds a higher-ranked one. A
 * query of its own, on this rare path only: folding the answer into the write (a CTE) costs
 * every event about 0.1 ms more.
 */
async function unappliedOutcome(db: Database, update: ProfileUpdate): Promise<ApplyOutcome> {
  const [row] = rowsOf<{ known: boolean }>(
    await db.query(statement`
      select exists (
        select 1 from public.profiles
        where id = ${update.userId}::uuid or stripe_customer_id = ${update.customerId}
      ) as known`),
  );
  return row?.known ? "superseded" : "unmatched";
}

/** Of these event ids, the ones the ledger already holds, in one round trip. */
export async function eventsInLedger(db: Database, ids: readonly string[]): Promise<Set<string>> {
  if (ids.length === 0) return new Set();
  const rows = rowsOf<{ id: string }>(
    await db.query(statement`select id from public.stripe_events where id = any(${ids})`),
  );
  return new Set(rows.map((row) => row.id));
}

/** A profile's billing columns, as the sync compares them with Stripe. */
export interface ProfileBilling {
  id: string;
  stripe_customer_id: string | null;
  stripe_subscription_id: string | null;
  subscription_status: string | null;
  price_id: string | null;
  current_period_end: Date | null;
  cancel_at_period_end: boolean;
  cancel_at: Date | null;
  canceled_at: Date | null;
  trial_end: Date | null;
  subscription_created_at: Date | null;
}

/**
 * The profiles a page of subscriptions may belong to (by subscription, user or customer), in one
 * round trip.
 */
export async function profilesForSubscriptions(
  db: Database,
  updates: readonly ProfileUpdate[],
): Promise<ProfileBilling[]> {
  if (updates.length === 0) return [];
  const userIds = updates.flatMap((update) => update.userId ?? []);
  return rowsOf<ProfileBilling>(
    await db.query(statement`
      select id, stripe_customer_id, stripe_subscription_id, subscription_status, price_id,
        current_period_end, cancel_at_period_end, cancel_at, canceled_at, trial_end,
        subscription_created_at
      from public.profiles
      where stripe_subscription_id = any(${updates.map((update) => update.subscriptionId)})
        or stripe_customer_id = any(${updates.map((update) => update.customerId)})
        or id = any(${userIds}::uuid[])`),
  );
}
