/** Postgres access: the only module that imports the Postgres driver. */
import postgres from "npm:postgres@3.4.9";
import { isLive, LIVE_STATUSES, type ProfileUpdate } from "./subscription.ts";

export type Sql = postgres.Sql;
export type TransactionSql = postgres.TransactionSql;

/**
 * True for the error postgres.js 3.4.9 throws when a connection closes with a write still queued:
 * its timer writes to the dropped socket (porsager/postgres#1154). The query has already failed
 * and been answered by then.
 */
function isDriverWriteAfterClose(error: unknown): boolean {
  return error instanceof TypeError && error.message.includes("reading 'write'") &&
    /postgres[@\\/]3\.4\.9[\\/]src[\\/]connection\.js/.test(error.stack ?? "");
}

// Tearing down a replaced pool (see connectDatabase) fails the ROLLBACKs the driver queued on
// its dead connections; nothing awaits those, and an unheard rejection would end the worker.
globalThis.addEventListener("unhandledrejection", (event) => {
  const reason: unknown = event.reason;
  if (
    reason instanceof Error &&
    (reason as Error & { code?: unknown }).code === "CONNECTION_DESTROYED"
  ) {
    event.preventDefault();
  }
});

// Thrown from a timer, nothing can catch it, and it would end the worker with every request it
// serves; so it is logged and stopped here, and only it.
globalThis.addEventListener("error", (event) => {
  if (!isDriverWriteAfterClose(event.error)) return;
  event.preventDefault();
  console.error(JSON.stringify({
    time: new Date().toISOString(),
    level: "error",
    message: "database driver wrote to a closed connection; ignored",
  }));
});

/** Options for {@link connect}. */
export interface ConnectOptions {
  /** Most connections the pool opens. */
  max?: number;
  /** Called with each statement sent (the benchmarks count round trips with it). */
  onQuery?: (query: string) => void;
}

/**
 * Opens a connection pool. `prepare: false` keeps it usable through Supabase's transaction
 * pooler, which cannot hold named prepared statements across transactions. The queries below
 * are sent as {@link statement}s for the reason given there.
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

/** What the queries below need of a pool: {@link connectDatabase}'s, or a transaction of it. */
export interface Database {
  unsafe<T extends readonly object[]>(text: string): Promise<T>;
  begin<T>(work: (tx: Database) => Promise<T>): Promise<T>;
}

/** A {@link Database} that can be closed. */
export interface DatabasePool extends Database {
  end(options?: { timeout?: number }): Promise<void>;
}

/** How long a replaced pool's statements may still finish before it is torn down. */
const RETIRE_SECONDS = 2;

const LOST_CONNECTION = new Set([
  "CONNECTION_CLOSED",
  "CONNECTION_DESTROYED",
  "CONNECTION_ENDED",
  "CONNECT_TIMEOUT",
  "ECONNRESET",
  "ECONNREFUSED",
  "EPIPE",
  "ETIMEDOUT",
]);

function isLostConnection(error: unknown): boolean {
  const code = error instanceof Error ? (error as Error & { code?: unknown }).code : undefined;
  return typeof code === "string" && LOST_CONNECTION.has(code);
}

/**
 * A pool that replaces itself after a lost connection. postgres.js 3.4.9 never gives back a
 * connection that died inside a transaction (it waits on a ROLLBACK nobody will answer), so a
 * database restart would otherwise wedge the pool one connection at a time, and every statement
 * queued behind it would hang. The old pool is ended after a short grace.
 */
export function connectDatabase(
  url: string,
  options: ConnectOptions = {},
): DatabasePool {
  let pool = connect(url, options);
  async function guarded<T>(run: (current: Sql) => Promise<T>): Promise<T> {
    const current = pool;
    try {
      return await run(current);
    } catch (error) {
      if (isLostConnection(error) && pool === current) {
        pool = connect(url, options);
        // Whatever still waits on the old pool (a statement queued behind a dead connection)
        // is failed shortly, rather than left hanging.
        current.end({ timeout: RETIRE_SECONDS }).catch(() => {});
      }
      throw error;
    }
  }
  return {
    unsafe: <T extends readonly object[]>(text: string) =>
      guarded(async (current) => await current.unsafe(text) as unknown as T),
    begin: <T>(work: (tx: Database) => Promise<T>) =>
      guarded((current) => current.begin((tx) => work(tx as unknown as Database)) as Promise<T>),
    end: (options) => pool.end(options),
  };
}

/** A value {@link literal} can write. */
export type SqlValue = string | number | boolean | Date | null | readonly string[];

/**
 * Writes a value as a SQL literal. Strings take the `E'...'` form with backslashes and quotes
 * doubled, which reads back the same whatever `standard_conforming_strings` is; NUL, which text
 * cannot hold, is refused rather than cut.
 */
export function literal(value: SqlValue): string {
  if (value === null) return "null";
  if (typeof value === "boolean") return value ? "true" : "false";
  if (typeof value === "number") {
    if (!Number.isFinite(value)) throw new TypeError(`Not a finite number: ${value}`);
    return String(value);
  }
  if (value instanceof Date) {
    if (Number.isNaN(value.getTime())) throw new TypeError("Invalid date");
    return `'${value.toISOString()}'::timestamptz`;
  }
  if (typeof value === "string") {
    if (value.includes("\0")) throw new TypeError("A SQL text value cannot hold NUL");
    return `E'${value.replaceAll("\\", "\\\\").replaceAll("'", "''")}'`;
  }
  return `array[${value.map(literal).join(", ")}]::text[]`;
}

/**
 * Builds SQL text with every interpolated value written by {@link literal}. Such text goes out
 * with the simple protocol: one round trip, several statements allowed. An unprepared query
 * with parameters costs two (the driver asks the server for their types first), and prepared
 * statements do not survive Supabase's transaction pooler.
 */
export function statement(strings: TemplateStringsArray, ...values: SqlValue[]): string {
  return strings.reduce(
    (text, part, index) =>
      index === 0 ? part : `${text}${literal(values[index - 1] ?? null)}${part}`,
    "",
  );
}

/** What checkout and portal need to know about a user's billing. */
export interface BillingProfile {
  status: string | null;
  customerId: string | null;
}

/** Reads a user's billing state in one round trip; undefined when the user has no profile. */
export async function findBillingProfile(
  sql: Database,
  userId: string,
): Promise<BillingProfile | undefined> {
  const rows = await sql.unsafe<{ status: string | null; customer_id: string | null }[]>(
    statement`
      select subscription_status as status, stripe_customer_id as customer_id
      from public.profiles where id = ${userId}::uuid`,
  );
  const row = rows[0];
  return row && { status: row.status, customerId: row.customer_id };
}

/**
 * Stores the user's Stripe customer, in one round trip. The commit does not wait for the disk:
 * should a crash lose it, the next checkout asks Stripe again with the same idempotency key and
 * gets the same customer back.
 */
export async function saveCustomerId(
  sql: Database,
  userId: string,
  customerId: string,
): Promise<void> {
  await sql.unsafe(statement`
    set local synchronous_commit = off;
    update public.profiles set stripe_customer_id = ${customerId}, updated_at = now()
    where id = ${userId}::uuid`);
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
 * The driver's `begin` is what notices a connection lost mid-transaction and rejects; on a
 * reserved connection the next statement would wait forever.
 */
export async function applyEventOnce(
  sql: Database,
  event: LedgerEvent,
  subscriptionId: string,
  read: () => Promise<ProfileUpdate>,
): Promise<ApplyOutcome> {
  const result = await sql.begin(async (tx) => {
    const [claim] = await tx.unsafe<{ fresh: boolean }[]>(statement`
      with inserted as (
        insert into public.stripe_events (id, type) values (${event.id}, ${event.type})
        on conflict (id) do nothing
        returning 1
      )
      select exists (select 1 from inserted) as fresh,
        pg_advisory_xact_lock(hashtextextended(${subscriptionId}, 0)) is null as locked`);
    if (!claim?.fresh) return "duplicate";
    const update = await read();
    const written = await tx.unsafe(writeStatement(update));
    return written.length > 0 ? "applied" : update;
  });
  return typeof result === "string" ? result : await unappliedOutcome(sql, result);
}

/**
 * The write of a subscription onto the profile of its user (by `metadata.userId`, else by
 * customer). A profile keeps the subscription that ranks highest: live before ended, then
 * newest, then (for two created in the same second) the greater id, so that the order events
 * arrive in never decides. Returns a row when it changed one.
 */
function writeStatement(update: ProfileUpdate): string {
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

/** Why an event changed no profile: none matches, or the profile holds a higher-ranked one. */
async function unappliedOutcome(sql: Database, update: ProfileUpdate): Promise<ApplyOutcome> {
  const [row] = await sql.unsafe<{ known: boolean }[]>(statement`
    select exists (
      select 1 from public.profiles
      where id = ${update.userId}::uuid or stripe_customer_id = ${update.customerId}
    ) as known`);
  return row?.known ? "superseded" : "unmatched";
}
