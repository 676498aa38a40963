/**
 * What the sync's tests share: a fresh environment per test, handlers with small bounds, users
 * whose events were never delivered, whole passes, and digests.
 */
import assert from "node:assert/strict";
import type { Database } from "../../supabase/functions/_shared/db.ts";
import type { Handler } from "../../supabase/functions/_shared/http.ts";
import type { SyncFunctionDeps } from "../../supabase/functions/stripe-sync/handler.ts";
import { entitlementsProblem, ledgerProblems, profileProblem } from "./billing.ts";
import {
  buildHandlers,
  type Harness,
  startHarness,
  SYNC_SECRET,
  testAuthenticator,
} from "./harness.ts";
import {
  applyHistory,
  generateHistory,
  type HistoryOptions,
  type PlayedHistory,
} from "./history.ts";
import { mulberry32 } from "./random.ts";
import { sleep } from "./time.ts";

/**
 * A pass sees every subscription of the account, so each sync test gets an environment of its
 * own (database, emulator, handlers) and closes it at its end.
 */
export async function withFreshHarness(fn: (h: Harness) => Promise<void>): Promise<void> {
  const h = await startHarness();
  try {
    await fn(h);
  } finally {
    await h.close();
  }
}

/** POSTs to the sync handler with the tests' secret and an optional JSON body. */
export function callSync(handler: Handler, body?: unknown, secret = SYNC_SECRET) {
  return handler(
    new Request("http://127.0.0.1/functions/v1/stripe-sync", {
      method: "POST",
      headers: { Authorization: `Bearer ${secret}`, "Content-Type": "application/json" },
      ...(body !== undefined && { body: JSON.stringify(body) }),
    }),
  );
}

/** The counts of a sync report, summed over calls. */
export interface PassTotals {
  calls: number;
  eventsReplayed: number;
  eventsMissing: number;
  subscriptionsChecked: number;
  profilesOutOfSync: number;
  profilesRepaired: number;
  unmatched: number;
  drift: Record<string, unknown>[];
  /** Each call's `done`, in order. */
  dones: boolean[];
}

/**
 * Runs one whole pass, call after call, asserting each answer is a 200 report; in check mode
 * each call sends back the cursor of the one before.
 */
export async function runPass(
  handler: Handler,
  options: {
    check?: boolean;
    maxCalls?: number;
    /** Another pass runs beside this one: a 409 waits a moment and calls again. */
    shared?: boolean;
  } = {},
): Promise<PassTotals> {
  const totals: PassTotals = {
    calls: 0,
    eventsReplayed: 0,
    eventsMissing: 0,
    subscriptionsChecked: 0,
    profilesOutOfSync: 0,
    profilesRepaired: 0,
    unmatched: 0,
    drift: [],
    dones: [],
  };
  let cursor: string | undefined;
  let busyWaits = 0;
  for (let call = 0; call < (options.maxCalls ?? 100); call++) {
    const body = options.check ? { check: true, ...(cursor && { cursor }) } : undefined;
    const response = await callSync(handler, body);
    if (options.shared && response.status === 409 && busyWaits++ < 1500) {
      await response.body?.cancel();
      await sleep(20);
      call--;
      continue;
    }
    const report = await response.json();
    assert.equal(response.status, 200, JSON.stringify(report));
    totals.calls++;
    for (
      const key of [
        "eventsReplayed",
        "eventsMissing",
        "subscriptionsChecked",
        "profilesOutOfSync",
        "profilesRepaired",
        "unmatched",
      ] as const
    ) {
      assert.equal(typeof report[key], "number", key);
      totals[key] += report[key];
    }
    totals.drift.push(...report.drift);
    totals.dones.push(report.done);
    if (report.done) {
      assert.equal(report.cursor, undefined, "a finished pass answers no cursor");
      return totals;
    }
    if (options.check) {
      assert.equal(typeof report.cursor, "string", "an unfinished check call answers a cursor");
      cursor = report.cursor;
    }
  }
  throw new Error(`The pass did not finish in ${options.maxCalls ?? 100} calls`);
}

/** A digest of whole tables (fixed names of ours), to prove that a call changed nothing in them. */
export async function digestOf(h: Harness, tables: readonly string[]): Promise<string> {
  const parts = tables.map((table) =>
    `(select string_agg(t::text, ',' order by t::text) from ${table} t)`
  );
  const [row] = await h.sql.unsafe<{ digest: string }[]>(
    `select md5(concat_ws('|', ${parts.join(", ")})) as digest`,
  );
  assert.ok(row);
  return row.digest;
}

/** A digest of the tables a sync may write, to prove a call wrote nothing. */
export function syncDigest(h: Harness): Promise<string> {
  return digestOf(h, ["public.profiles", "public.stripe_events", "public.billing_sync_state"]);
}

/** The Stripe API calls the emulator answered since `mark`, as `METHOD path`. */
export function stripeCallsSince(h: Harness, mark: number): string[] {
  return h.emulator.requests().slice(mark).map((request) => `${request.method} ${request.path}`);
}

/** Options of {@link syncHandler}. */
export interface SyncHandlerOptions {
  /** Bounds per call: small pages make a pass take many calls. */
  limits?: SyncFunctionDeps["limits"];
  /** Another pool than the harness's (a proxied one, for faults). */
  db?: Database;
}

/** A `stripe-sync` handler on the harness's clients, with its own bounds or pool. */
export function syncHandler(h: Harness, options: SyncHandlerOptions = {}): Handler {
  return buildHandlers(
    {
      authenticate: testAuthenticator(h.issuer.jwks, h.issuer),
      stripe: h.stripe,
      db: options.db ?? h.database,
      logger: h.logger,
    },
    { ...(options.limits && { syncLimits: options.limits }) },
  ).sync;
}

/**
 * Plays a random history for each of `count` new users and delivers none of its events, as if
 * the webhook endpoint had been down all along.
 */
export async function playUndelivered(
  h: Harness,
  count: number,
  seed: number,
  options: HistoryOptions = {},
): Promise<PlayedHistory[]> {
  const rng = mulberry32(seed);
  const played: PlayedHistory[] = [];
  for (let i = 0; i < count; i++) {
    played.push(await applyHistory(h, await h.createUser(), generateHistory(rng, options)));
  }
  return played;
}

/**
 * Asserts every played user's profile holds its subscription's state at Stripe and its
 * customer's entitlements, and the ledger.
 */
export async function assertAllSynced(
  h: Harness,
  played: readonly PlayedHistory[],
): Promise<void> {
  for (const history of played) {
    const problem = await profileProblem(h, history.user.id, history.subscriptionId) ??
      await entitlementsProblem(h, history.user.id, history.customerId);
    assert.equal(problem, null, `${problem} after ${history.log.join(", ")}`);
  }
  assert.deepEqual(await ledgerProblems(h, played.flatMap((history) => history.events)), []);
}
