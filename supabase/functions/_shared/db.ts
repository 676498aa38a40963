/** Postgres access: the functions' statements, sent through the client in `pg/`. */
import {
  createPool,
  type Pool,
  type QueryResult,
  type SqlText,
  statement,
  type Transaction,
} from "./pg/mod.ts";
import type { PriceFacts } from "./plans.ts";
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

/** What the portal needs to know about a user's billing. */
export interface BillingProfile {
  status: string | null;
  customerId: string | null;
  subscriptionId: string | null;
  /** The subscription is set to end (at its period's end, or at `cancel_at`). */
  cancelScheduled: boolean;
}

/** Reads a user's billing state in one round trip; undefined when the user has no profile. */
export async function findBillingProfile(
  db: Database,
  userId: string,
): Promise<BillingProfile | undefined> {
  const [row] = rowsOf<{
    status: string | null;
    customer_id: string | null;
    subscription_id: string | null;
    cancel_scheduled: boolean;
  }>(
    await db.query(statement`
      select subscription_status as status, stripe_customer_id as customer_id,
        stripe_subscription_id as subscription_id,
        cancel_at_period_end or cancel_at is not null as cancel_scheduled
      from public.profiles where id = ${userId}::uuid`),
  );
  return row && {
    status: row.status,
    customerId: row.customer_id,
    subscriptionId: row.subscription_id,
    cancelScheduled: row.cancel_scheduled,
  };
}

/** What checkout needs to know: the user's billing, and the plan catalog. */
export interface CheckoutState {
  status: string | null;
  customerId: string | null;
  /** The user has had a subscription before (any status), so gets no trial. */
  hadSubscription: boolean;
  /** Changes whenever the profile does: a new customer's idempotency key after a deleted one. */
  version: string;
  /** The rows of `public.billing_plans` (a handful: the allowed prices). */
  catalog: PriceFacts[];
}

/**
 * Reads the user's billing state and the plan catalog in one round trip; undefined when the user
 * has no profile. The catalog comes whole, so that the request's body (the price asked for) can
 * be read after the refusals that need no body.
 */
export async function findCheckoutState(
  db: Database,
  userId: string,
): Promise<CheckoutState | undefined> {
  const [row] = rowsOf<{
    status: string | null;
    customer_id: string | null;
    had_subscription: boolean;
    version: string;
    catalog: PriceFacts[];
  }>(
    await db.query(statement`
      select p.subscription_status as status, p.stripe_customer_id as customer_id,
        p.subscription_status is not null or p.stripe_subscription_id is not null
          or p.subscription_created_at is not null as had_subscription,
        p.updated_at::text as version,
        (
          select coalesce(json_agg(json_build_object(
            'id', b.price_id, 'lookupKey', b.lookup_key, 'active', b.active,
            'recurring', b.interval is not null
          )), '[]')
          from public.billing_plans b
        ) as catalog
      from public.profiles p
      where p.id = ${userId}::uuid`),
  );
  return row && {
    status: row.status,
    customerId: row.customer_id,
    hadSubscription: row.had_subscription,
    version: row.version,
    catalog: row.catalog,
  };
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
  | "gone"
  /** The object's customer was deleted at Stripe; its late changes write nothing. */
  | "customer_deleted"
  /** The event is about a price or product no allowed plan uses; only the ledger records it. */
  | "skipped";

/** Reads a subscription's current state at Stripe; "gone" when Stripe no longer has it. */
export type SubscriptionRead = () => Promise<ProfileUpdate | "gone">;

/**
 * What a transaction locks, so that two writers of the same thing apply one after the other,
 * each with what Stripe says after the other: a subscription, a customer (entitlements and
 * deletion), or the plan catalog. Subscriptions lock with the one-key form of advisory locks and
 * customers and the catalog with the two-key form, under class ids of their own: Postgres keeps
 * the two forms apart, so no customer's lock can be a subscription's.
 */
export type LockTarget =
  | { kind: "subscription"; id: string }
  | { kind: "customer"; id: string }
  /** The catalog; with a price or product, the claim also tells whether the catalog holds it. */
  | { kind: "catalog"; priceId?: string | null; productId?: string | null };

/** What the first statement of a locked transaction found. */
export interface Claim {
  /** The ledger did not hold the event (always true without one). */
  fresh: boolean;
  /** A catalog lock's price or product has a row in `public.billing_plans`. */
  known: boolean;
}

/** The two-key advisory locks' class ids ("bill" and the next one). */
const CUSTOMER_LOCKS = 0x62696c6c;
const CATALOG_LOCKS = CUSTOMER_LOCKS + 1;

/** The first statement of a locked transaction: the ledger's claim of `event` and the lock. */
function claimStatement(lock: LockTarget, event: LedgerEvent | undefined): SqlText {
  if (lock.kind === "subscription") {
    return event === undefined
      ? statement`
        select true as fresh,
          pg_advisory_xact_lock(hashtextextended(${lock.id}, 0)) is null as locked`
      : statement`
        with inserted as (
          insert into public.stripe_events (id, type) values (${event.id}, ${event.type})
          on conflict (id) do nothing
          returning 1
        )
        select exists (select 1 from inserted) as fresh,
          pg_advisory_xact_lock(hashtextextended(${lock.id}, 0)) is null as locked`;
  }
  const space = lock.kind === "customer" ? CUSTOMER_LOCKS : CATALOG_LOCKS;
  const key = lock.kind === "customer" ? lock.id : "catalog";
  const priceId = lock.kind === "catalog" ? lock.priceId ?? null : null;
  const productId = lock.kind === "catalog" ? lock.productId ?? null : null;
  return event === undefined
    ? statement`
      select true as fresh, pg_advisory_xact_lock(${space}, hashtext(${key})) is null as locked,
        false as known`
    : statement`
      with inserted as (
        insert into public.stripe_events (id, type) values (${event.id}, ${event.type})
        on conflict (id) do nothing
        returning 1
      )
      select exists (select 1 from inserted) as fresh,
        pg_advisory_xact_lock(${space}, hashtext(${key})) is null as locked,
        exists (
          select 1 from public.billing_plans
          where price_id = ${priceId} or product_id = ${productId}
        ) as known`;
}

/**
 * Runs `work` in a transaction that first (in its first round trip, with the BEGIN) records
 * `event` in the ledger and takes `lock`: "duplicate", with nothing done, when the ledger
 * already held the event. The ledger row commits with what `work` writes, or not at all.
 */
export async function lockedTransaction<T>(
  db: Database,
  lock: LockTarget,
  event: LedgerEvent | undefined,
  work: (tx: Transaction, claim: Claim) => Promise<T>,
): Promise<T | "duplicate"> {
  return await db.transaction(async (tx) => {
    const [claim] = rowsOf<Claim>(await tx.query(claimStatement(lock, event)));
    if (!claim?.fresh) return "duplicate" as const;
    return await work(tx, { fresh: true, known: claim.known === true });
  });
}

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
  const result = await lockedTransaction(
    db,
    { kind: "subscription", id: subscriptionId },
    event,
    async (tx) => {
      const update = await read();
      if (update === "gone") {
        await tx.commit();
        return "gone" as const;
      }
      const written = rowsOf(await tx.commit(writeStatement(update)), 1);
      return written.length > 0 ? "applied" as const : update;
    },
  );
  return typeof result === "string" ? result : await unappliedOutcome(db, result);
}

/**
 * The write of a subscription onto the profile of its user (by `metadata.userId`, else by
 * customer). A profile keeps the subscription that ranks highest: live before ended, then
 * newest, then (for two created in the same second) the greater id, so that the order events
 * arrive in never decides. A customer deleted at Stripe is never written back: the customer's
 * lock comes first (the deletion holds it while it commits its tombstone), so the update reads
 * every tombstone committed before it. Its second statement returns a row when it changed one.
 */
function writeStatement(update: ProfileUpdate): SqlText {
  return statement`
    select pg_advisory_xact_lock(${CUSTOMER_LOCKS}, hashtext(${update.customerId})) is null
      as locked;
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
      and not exists (
        select 1 from public.billing_deleted_customers d where d.customer_id = ${update.customerId}
      )
    returning 1`;
}

/**
 * Why an event changed no profile: its customer was deleted, none matches, or the profile holds
 * a higher-ranked one. A query of its own, on this rare path only: folding the answer into the
 * write (a CTE) costs every event about 0.1 ms more.
 */
async function unappliedOutcome(db: Database, update: ProfileUpdate): Promise<ApplyOutcome> {
  const [row] = rowsOf<{ deleted: boolean; known: boolean }>(
    await db.query(statement`
      select exists (
        select 1 from public.billing_deleted_customers where customer_id = ${update.customerId}
      ) as deleted,
      exists (
        select 1 from public.profiles
        where id = ${update.userId}::uuid or stripe_customer_id = ${update.customerId}
      ) as known`),
  );
  if (row?.deleted) return "customer_deleted";
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

/** The profiles a page of subscriptions may belong to, and which of its customers were deleted. */
export interface PageProfiles {
  profiles: ProfileBilling[];
  /** Customers of the page deleted at Stripe: their subscriptions belong to no profile. */
  deletedCustomers: Set<string>;
}

/**
 * The profiles a page of subscriptions may belong to (by subscription, user or customer), and
 * the page's customers that were deleted at Stripe, in one round trip.
 */
export async function profilesForSubscriptions(
  db: Database,
  updates: readonly ProfileUpdate[],
): Promise<PageProfiles> {
  if (updates.length === 0) return { profiles: [], deletedCustomers: new Set() };
  const userIds = updates.flatMap((update) => update.userId ?? []);
  const customerIds = updates.map((update) => update.customerId);
  const results = await db.query(statement`
    select id, stripe_customer_id, stripe_subscription_id, subscription_status, price_id,
      current_period_end, cancel_at_period_end, cancel_at, canceled_at, trial_end,
      subscription_created_at
    from public.profiles
    where stripe_subscription_id = any(${updates.map((update) => update.subscriptionId)})
      or stripe_customer_id = any(${customerIds})
      or id = any(${userIds}::uuid[]);
    select customer_id from public.billing_deleted_customers
    where customer_id = any(${customerIds})`);
  return {
    profiles: rowsOf<ProfileBilling>(results, 0),
    deletedCustomers: new Set(
      rowsOf<{ customer_id: string }>(results, 1).map((r) => r.customer_id),
    ),
  };
}
