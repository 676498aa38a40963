/**
 * The sync's state in the database: one row with the lease that keeps passes from overlapping
 * and the cursor of the pass in progress. Each call takes the lease in one statement and gives it
 * back at its end; nothing lives in the session, which Supabase's transaction pooler would drop
 * between transactions.
 */
import { type Database, rowsOf } from "../_shared/db.ts";
import { type SqlText, statement } from "../_shared/pg/mod.ts";
import { decodeCursor, encodeCursor, type SyncCursor } from "./cursor.ts";

/** How long a lease lasts after the last sign of life of the call that holds it. */
export const LEASE_SECONDS = 300;

/** Events older than this are gone from Stripe's event list. */
const EVENT_HISTORY_SECONDS = 30 * 24 * 3600;

/** Events of the previous pass's last hour are read again, for clocks that disagree. */
const REPLAY_OVERLAP_SECONDS = 3600;

/** A call's hold on the sync: its token, and where the pass stands. */
export interface Lease {
  token: string;
  cursor: SyncCursor;
}

interface StateRow {
  cursor: string | null;
  last_pass_started: number | null;
  now: number;
  busy: boolean;
}

/** The cursor of a pass that starts now, after a previous pass that started at `lastStarted`. */
function firstCursor(now: number, lastStarted: number | null): SyncCursor {
  const oldest = now - EVENT_HISTORY_SECONDS;
  const since = lastStarted === null
    ? oldest
    : Math.max(oldest, lastStarted - REPLAY_OVERLAP_SECONDS);
  return { step: "tasks", after: null, since };
}

function cursorOf(row: StateRow): SyncCursor {
  return row.cursor === null
    ? firstCursor(row.now, row.last_pass_started)
    : decodeCursor(row.cursor);
}

/**
 * Takes the lease when nobody holds it (or its holder's lease ran out), starting a pass when
 * none is in progress. Undefined when another call holds it.
 */
export async function acquireLease(db: Database): Promise<Lease | undefined> {
  const token = crypto.randomUUID();
  const [row] = rowsOf<StateRow>(
    await db.query(statement`
      insert into public.billing_sync_state (id) values (true) on conflict (id) do nothing;
      update public.billing_sync_state set
        lease_token = ${token}::uuid,
        lease_expires_at = now() + make_interval(secs => ${LEASE_SECONDS}),
        pass_started_at = coalesce(pass_started_at, now()),
        updated_at = now()
      where id and (lease_expires_at is null or lease_expires_at <= now())
      returning cursor,
        floor(extract(epoch from last_pass_started_at))::float8 as last_pass_started,
        floor(extract(epoch from now()))::float8 as now,
        false as busy`),
    1,
  );
  return row && { token, cursor: cursorOf(row) };
}

/**
 * Reads where a check pass starts and whether a pass is running, writing nothing: the check
 * mode's view of the state.
 */
export async function peekState(db: Database): Promise<{ busy: boolean; cursor: SyncCursor }> {
  const [row] = rowsOf<StateRow>(
    await db.query(statement`
      select null::text as cursor,
        floor(extract(epoch from last_pass_started_at))::float8 as last_pass_started,
        floor(extract(epoch from now()))::float8 as now,
        coalesce(lease_expires_at > now(), false) as busy
      from (select true as id) as one
      left join public.billing_sync_state using (id)`),
  );
  if (row === undefined) throw new Error("The sync state query returned no row");
  return { busy: row.busy, cursor: firstCursor(row.now, row.last_pass_started) };
}

/** The lease ran out and another call took it over; this call must stop writing. */
export class LeaseLostError extends Error {
  override name = "LeaseLostError";
  constructor() {
    super("The sync's lease was taken over by another call");
  }
}

/** Runs an update of the held row; no row means the lease was lost. */
async function updateHeld(db: Database, text: SqlText) {
  const written = rowsOf(await db.query(text));
  if (written.length === 0) throw new LeaseLostError();
}

/** Records the pass's progress and renews the lease. */
export async function saveProgress(db: Database, lease: Lease, cursor: SyncCursor): Promise<void> {
  await updateHeld(
    db,
    statement`
      update public.billing_sync_state set
        cursor = ${encodeCursor(cursor)},
        lease_expires_at = now() + make_interval(secs => ${LEASE_SECONDS}),
        updated_at = now()
      where id and lease_token = ${lease.token}::uuid
      returning 1`,
  );
  lease.cursor = cursor;
}

/** Ends the pass and gives the lease back: the next call starts a new pass. */
export async function finishPass(db: Database, lease: Lease): Promise<void> {
  await updateHeld(
    db,
    statement`
      update public.billing_sync_state set
        last_pass_started_at = pass_started_at,
        last_pass_finished_at = now(),
        pass_started_at = null,
        cursor = null,
        lease_token = null,
        lease_expires_at = null,
        updated_at = now()
      where id and lease_token = ${lease.token}::uuid
      returning 1`,
  );
}

/** Gives the lease back with the pass unfinished: the next call resumes at its cursor. */
export async function releaseLease(db: Database, lease: Lease): Promise<void> {
  await db.query(statement`
    update public.billing_sync_state set
      lease_token = null, lease_expires_at = null, updated_at = now()
    where id and lease_token = ${lease.token}::uuid`);
}
