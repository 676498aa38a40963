/**
 * The sync pass at scale: the stripe-sync function in its own process runs whole
 * passes over an account of thousands of subscriptions, first with nothing drifted, then with 1%
 * drifted. Beside it: the emulator's own time to list the same subscriptions from this process,
 * the Stripe calls by kind, the database round trips on the wire, and the process's peak memory.
 */
import { routeKey } from "../../dev/stripe/api/router.ts";
import type { RecordedRequest } from "../../dev/stripe/mod.ts";
import { type BenchEnvironment, startEnvironment, SYNC_SECRET } from "../environment.ts";
import { round, type ServerProcess } from "../load.ts";
import { log, post, timedCall } from "../requests.ts";
import { countRoundTrips, type RoundTripCounter } from "../round_trips.ts";
import { startFunction } from "../servers.ts";
import { columns, type Row, type Table } from "../tables.ts";
import { addDrift, seedAccount, type SyncAccount } from "./sync_account.ts";

/** One subscription in this many drifts. */
const DRIFT_EVERY = 100;

/** Calls of a pass, at most, before the bench gives up on it. */
const MAX_CALLS = 1000;

type PassName = "nothing drifted" | "1% drifted";

/** What one whole pass took and did. */
interface PassFigures {
  calls: number;
  ms: number;
  repaired: number;
  requests: RecordedRequest[];
  roundTrips: number;
  peakMiB: number;
}

/**
 * Pages through every subscription with the SDK, as the pass does: the emulator's own time, the
 * faster of two listings (the first also compiles the emulator's paging).
 */
async function listAll(env: BenchEnvironment): Promise<{ ms: number; pages: number }> {
  const first = await listOnce(env);
  const second = await listOnce(env);
  return first.ms < second.ms ? first : second;
}

async function listOnce(env: BenchEnvironment): Promise<{ ms: number; pages: number }> {
  let pages = 0;
  const ms = await timedCall(async () => {
    let after: string | undefined;
    while (true) {
      const page = await env.stripe.subscriptions.list({
        status: "all",
        limit: 100,
        ...(after !== undefined && { starting_after: after }),
      });
      pages++;
      if (!page.has_more) break;
      after = page.data.at(-1)?.id;
    }
  });
  return { ms, pages };
}

/** Calls the sync function until its pass is done. */
async function runPass(
  env: BenchEnvironment,
  server: ServerProcess,
  relay: RoundTripCounter,
): Promise<PassFigures> {
  const mark = env.stripeServer.emulator.requests().length;
  relay.reset();
  let calls = 0;
  let repaired = 0;
  const started = performance.now();
  while (true) {
    if (++calls > MAX_CALLS) throw new Error(`The sync pass did not finish in ${MAX_CALLS} calls`);
    const response = await post(server, { token: SYNC_SECRET });
    const report = await response.json();
    if (response.status !== 200) {
      throw new Error(`The sync answered ${response.status}: ${JSON.stringify(report)}`);
    }
    repaired += report.profilesRepaired;
    if (report.done) break;
  }
  const ms = performance.now() - started;
  return {
    calls,
    ms,
    repaired,
    requests: env.stripeServer.emulator.requests().slice(mark),
    roundTrips: relay.count(),
    peakMiB: (await server.memory()).peakMiB,
  };
}

/** The emulator's route of a call, `GET subscriptions/:id`, and the ids in its path. */
function routeOf(request: RecordedRequest): { key: string; ids: string[] } {
  return routeKey(request.method, request.path) ?? { key: request.path, ids: [] };
}

function kindOf(request: RecordedRequest): string {
  return routeOf(request).key;
}

/** A list: a GET of a collection, whatever its filters. */
function isList(request: RecordedRequest): boolean {
  return request.method === "GET" && !kindOf(request).endsWith(":id");
}

/** The subscription a call is about, by the ids in its path or its `customer` parameter. */
function subjectOf(request: RecordedRequest, account: SyncAccount, customers: Map<string, string>) {
  const ids = [...routeOf(request).ids];
  const customer = request.params.customer;
  if (typeof customer === "string") ids.push(customer);
  for (const id of ids) {
    if (account.customerOf.has(id)) return id;
    const subscription = customers.get(id);
    if (subscription !== undefined) return subscription;
  }
  return undefined;
}

function passRow(
  size: number,
  pass: PassName,
  figures: PassFigures,
  listed: { ms: number; pages: number },
  account: SyncAccount,
): Row {
  const customers = new Map([...account.customerOf].map(([sub, cus]) => [cus, sub]));
  const drifted = pass === "nothing drifted" ? new Set<string>() : account.drifted;
  const subjects = figures.requests.map((request) => subjectOf(request, account, customers));
  const lists = figures.requests.filter((request, i) => isList(request) && !subjects[i]);
  const rereads = figures.requests.filter((r) => kindOf(r) === "GET subscriptions/:id");
  const forDrifted = subjects.filter((subject) => subject && drifted.has(subject)).length;
  const forUnchanged = subjects.filter((subject) => subject && !drifted.has(subject)).length;
  return {
    label: `${size} subscriptions, ${pass}`,
    size,
    pass,
    calls: figures.calls,
    ms: round(figures.ms, 0),
    listMs: round(listed.ms, 0),
    timeRatio: round(figures.ms / listed.ms),
    repaired: figures.repaired,
    stripeCalls: figures.requests.length,
    lists: lists.length,
    rereads: rereads.length,
    rereadsPerDrifted: drifted.size === 0 ? NaN : round(rereads.length / drifted.size),
    forDrifted,
    forUnchanged,
    other: figures.requests.length - lists.length - forDrifted - forUnchanged,
    roundTrips: figures.roundTrips,
    roundTripsPerPage: round(figures.roundTrips / listed.pages),
    peakMiB: round(figures.peakMiB, 1),
    peakGrowth: NaN,
  };
}

function callRows(size: number, pass: PassName, requests: RecordedRequest[]): Row[] {
  const counts = new Map<string, number>();
  for (const request of requests) {
    counts.set(kindOf(request), (counts.get(kindOf(request)) ?? 0) + 1);
  }
  return [...counts].sort(([a], [b]) => a.localeCompare(b)).map(([kind, count]) => ({
    label: `${size}, ${pass}, ${kind}`,
    size,
    pass,
    kind,
    count,
  }));
}

/** Both passes over a fresh account of `size` subscriptions. */
async function measureSize(options: BenchEnvironment["options"], size: number) {
  const env = await startEnvironment(options);
  const relay = countRoundTrips(env.databaseUrl);
  let server: ServerProcess | undefined;
  try {
    log(`sync: seeding ${size} subscriptions`);
    const account = await seedAccount(env, size);
    const listed = await listAll(env);
    server = await startFunction(env, "stripe-sync", { env: { SUPABASE_DB_URL: relay.url } });
    const clean = await runPass(env, server, relay);
    log(`sync ${size}, nothing drifted: ${round(clean.ms, 0)} ms, ${clean.calls} calls`);
    await addDrift(env, account, DRIFT_EVERY);
    const drifted = await runPass(env, server, relay);
    log(`sync ${size}, 1% drifted: ${round(drifted.ms, 0)} ms, ${drifted.repaired} repaired`);
    return {
      rows: [
        passRow(size, "nothing drifted", clean, listed, account),
        passRow(size, "1% drifted", drifted, listed, account),
      ],
      calls: [
        ...callRows(size, "nothing drifted", clean.requests),
        ...callRows(size, "1% drifted", drifted.requests),
      ],
    };
  } finally {
    await server?.stop();
    await relay.close();
    await env.close();
  }
}

/** Passes over accounts of each size in `settings.syncSizes`, each in a fresh environment. */
export async function measureSync(
  env: BenchEnvironment,
  settings: { syncSizes: readonly number[] },
): Promise<Table[]> {
  const rows: Row[] = [];
  const calls: Row[] = [];
  for (const size of settings.syncSizes) {
    const result = await measureSize(env.options, size);
    rows.push(...result.rows);
    calls.push(...result.calls);
  }
  const smallest = Math.min(...settings.syncSizes);
  for (const row of rows) {
    const base = rows.find((other) => other.size === smallest && other.pass === row.pass);
    if (row.size !== smallest && base) {
      row.peakGrowth = round(Number(row.peakMiB) / Number(base.peakMiB));
    }
  }
  return [syncTable(rows), syncCallsTable(calls)];
}

function syncTable(rows: Row[]): Table {
  return {
    id: "sync",
    title: "Sync pass (whole passes of stripe-sync in its own process)",
    columns: columns(
      ["size", "subscriptions"],
      ["pass", "pass"],
      ["calls", "calls"],
      ["ms", "pass ms"],
      ["listMs", "emulator list ms"],
      ["timeRatio", "ratio"],
      ["repaired", "repaired"],
      ["stripeCalls", "Stripe calls"],
      ["lists", "list pages"],
      ["rereads", "re-reads"],
      ["rereadsPerDrifted", "re-reads per drifted"],
      ["forDrifted", "calls for drifted"],
      ["forUnchanged", "calls for unchanged"],
      ["other", "other calls"],
      ["roundTrips", "DB round trips"],
      ["roundTripsPerPage", "round trips per page"],
      ["peakMiB", "peak MiB"],
      ["peakGrowth", "peak over smallest size"],
    ),
    rows,
    notes: [
      "Each size is a fresh database and emulator: users with one subscription each, seeded " +
      "silently at the emulator, and profiles that hold them exactly. The first pass finds " +
      `nothing to do; then one subscription in ${DRIFT_EVERY} drifts (half of them a profile ` +
      "corrupted in SQL, half a subscription edited at Stripe without an event) and a second " +
      "pass repairs them. A pass is as many calls of the function as it takes (at most 10 list " +
      "pages a call). Emulator list: the same subscriptions paged with the SDK " +
      '(`subscriptions.list({status: "all", limit: 100})`) from the bench process, the faster of two. List pages: ' +
      "lists that name no one subscription or customer (subscriptions, events, the catalog's " +
      "features). Calls for drifted or unchanged: Stripe calls that name such a subscription or " +
      "its customer (the re-read, the entitlements read). Other: single objects of the catalog " +
      "step (its prices). Round trips " +
      "are counted on the wire by a relay (bench/round_trips.ts) for the whole pass, steps and " +
      "lease included, and divided by the list's pages. Peak memory is the process's VmHWM " +
      "after the pass (over its life).",
    ],
  };
}

function syncCallsTable(rows: Row[]): Table {
  return {
    id: "sync-calls",
    title: "Sync pass: Stripe calls by kind",
    columns: columns(["size", "subscriptions"], ["pass", "pass"], ["kind", "call"], [
      "count",
      "count",
    ]),
    rows,
    notes: [],
  };
}
