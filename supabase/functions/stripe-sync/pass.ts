/**
 * A sync pass: the user tasks, then replay of missed events, then reconcile of every
 * subscription, then the plan catalog. A call does a bounded share of it (at most
 * {@link MAX_PAGES} pages of Stripe lists, within a time budget) and records where it stopped, so
 * the next call resumes there; a pass that finishes answers `done: true`.
 */
import type { Database } from "../_shared/db.ts";
import { refreshCatalog } from "../_shared/db_plans.ts";
import { HANDLED_EVENT_TYPES } from "../_shared/events.ts";
import type { Logger } from "../_shared/log.ts";
import { catalogPageBound, type PlanSettings, readCatalog } from "../_shared/plans.ts";
import type { Stripe } from "../_shared/stripe.ts";
import { nextStep, type SyncCursor, type SyncStep } from "./cursor.ts";
import { type Drift, reconcilePage } from "./reconcile.ts";
import { replayPage } from "./replay.ts";
import { pendingTasks, runTask, TASKS_PER_UNIT } from "./tasks.ts";
import {
  acquireLease,
  finishPass,
  type Lease,
  peekState,
  releaseLease,
  saveProgress,
} from "./state.ts";

/** Pages of Stripe lists one call reads at most. */
export const MAX_PAGES = 10;

/** Objects per page of a Stripe list (Stripe's maximum). */
export const PAGE_SIZE = 100;

/** Drift entries one report lists at most. */
const MAX_DRIFT = 100;

/** What a pass runs on. */
export interface SyncDeps {
  stripe: Stripe;
  db: Database;
  /** The allowed plans: the catalog step writes them, and the replay applies their events. */
  plans: PlanSettings;
  logger: Logger;
}

/** Where a call stands, for a progress display. */
export interface SyncProgress {
  step: SyncStep;
  pages: number;
  subscriptions: number;
  events: number;
}

/** Options of {@link runSync}. */
export interface SyncOptions {
  /** Report only: write nothing, not even the cursor. */
  check?: boolean;
  /** Check mode: where the previous check call stopped. */
  cursor?: SyncCursor;
  /** Pages of Stripe lists this call may read. */
  maxPages?: number;
  /** Objects per page (Stripe's maximum, 100, by default). */
  pageSize?: number;
  /** Milliseconds after which the call stops at the next page boundary. */
  timeBudgetMs?: number;
  onProgress?: (progress: SyncProgress) => void;
}

/** What one call found and did (SPEC "Staying in sync"). */
export interface SyncReport {
  done: boolean;
  eventsReplayed: number;
  /** Events of a handled type that Stripe has and the ledger did not. */
  eventsMissing: number;
  subscriptionsChecked: number;
  profilesOutOfSync: number;
  profilesRepaired: number;
  unmatched: number;
  tasksDone: number;
  tasksFailed: number;
  drift: Drift[];
}

/** A call's answer: its report and, in check mode while unfinished, where to resume. */
export interface SyncResult {
  report: SyncReport;
  cursor?: SyncCursor;
}

/** Another call holds the sync's lease. */
export class SyncBusyError extends Error {
  override name = "SyncBusyError";
  constructor() {
    super("Sync already running");
  }
}

/** The state one call carries through its steps. */
interface CallContext {
  deps: SyncDeps;
  write: boolean;
  pageSize: number;
  maxPages: number;
  report: SyncReport;
  pages: number;
  events: number;
}

/**
 * One unit of a step: reads at most one page (or what the step needs at once) and returns the
 * id to resume after, null when the step is done, or undefined when it did nothing and must
 * wait for the next call's fresh budget.
 */
type StepUnit = (context: CallContext, cursor: SyncCursor) => Promise<string | null | undefined>;

async function replayUnit(context: CallContext, cursor: SyncCursor): Promise<string | null> {
  const { deps, report } = context;
  const page = await deps.stripe.events.list({
    types: [...HANDLED_EVENT_TYPES],
    created: { gte: cursor.since },
    limit: context.pageSize,
    ...(cursor.after !== null && { starting_after: cursor.after }),
  });
  context.pages++;
  context.events += page.data.length;
  const outcome = await replayPage(deps, page.data, context.write, (event, result) => {
    deps.logger.info(context.write ? "event replayed" : "event missing", {
      eventId: event.id,
      eventType: event.type,
      eventOutcome: result,
    });
  });
  report.eventsMissing += outcome.missing;
  report.eventsReplayed += outcome.replayed;
  report.unmatched += outcome.unmatched;
  return page.has_more ? page.data.at(-1)?.id ?? null : null;
}

async function reconcileUnit(context: CallContext, cursor: SyncCursor): Promise<string | null> {
  const { deps, report } = context;
  const page = await deps.stripe.subscriptions.list({
    status: "all",
    limit: context.pageSize,
    ...(cursor.after !== null && { starting_after: cursor.after }),
  });
  context.pages++;
  const outcome = await reconcilePage(
    {
      ...deps,
      onEntitlements(customerId, result) {
        deps.logger.info("entitlements refreshed", { customerId, outcome: result });
      },
      onRepair(drift, result) {
        const [first] = drift;
        if (first === undefined) return;
        deps.logger.info(context.write ? "profile repaired" : "profile out of sync", {
          userId: first.userId,
          subscriptionId: first.subscriptionId,
          outcome: result,
          changes: drift.map((d) => `${d.field}: ${d.database} -> ${d.stripe}`).join("; "),
        });
      },
    },
    page.data,
    context.write,
  );
  report.subscriptionsChecked += outcome.checked;
  report.profilesOutOfSync += outcome.outOfSync;
  report.profilesRepaired += outcome.repaired;
  report.unmatched += outcome.unmatched;
  report.drift.push(...outcome.drift.slice(0, MAX_DRIFT - report.drift.length));
  return page.has_more ? page.data.at(-1)?.id ?? null : null;
}

/**
 * Runs the pending user tasks after the cursor's, oldest first; each is tried once per pass (a
 * failed one stays for the next pass). A cancellation lists its customer's subscriptions, one
 * page of the call's budget. Check mode runs none.
 */
async function tasksUnit(context: CallContext, cursor: SyncCursor): Promise<string | null> {
  if (!context.write) return null;
  const { deps, report } = context;
  const limit = Math.min(TASKS_PER_UNIT, context.maxPages - context.pages);
  const tasks = await pendingTasks(
    deps.db,
    cursor.after === null ? 0 : Number(cursor.after),
    limit,
  );
  for (const task of tasks) {
    if (task.kind === "cancel_customer") context.pages++;
    const { outcome, error } = await runTask(deps, task);
    if (outcome === "done") report.tasksDone++;
    else report.tasksFailed++;
    const fields = { taskId: task.id, kind: task.kind, userId: task.userId, outcome };
    if (error === null) deps.logger.info("user task", fields);
    else deps.logger.error("user task failed", { ...fields, error });
  }
  const last = tasks.at(-1);
  return tasks.length === limit && last !== undefined ? String(last.id) : null;
}

/**
 * Replaces the plan catalog with a fresh read of the allowed prices, their products and
 * features, in one unit. A call that has read pages already leaves it to the next call when its
 * pages might not fit in what is left of the budget. Check mode writes nothing, so reads nothing.
 */
async function catalogUnit(context: CallContext): Promise<string | null | undefined> {
  if (!context.write) return null;
  const { deps } = context;
  const bound = catalogPageBound(deps.plans);
  if (context.pages > 0 && context.pages + bound > context.maxPages) return undefined;
  const catalog = await refreshCatalog(deps.db, () => readCatalog(deps.stripe, deps.plans));
  context.pages += catalog.pages;
  if (catalog.changed > 0) {
    deps.logger.info("plan catalog refreshed", {
      plans: catalog.plans.length,
      changed: catalog.changed,
      ...(catalog.missing.length > 0 && { missing: catalog.missing.join(", ") }),
    });
  }
  return null;
}

const STEPS: Record<SyncStep, StepUnit> = {
  tasks: tasksUnit,
  replay: replayUnit,
  reconcile: reconcileUnit,
  catalog: catalogUnit,
};

/** A report with nothing counted yet: where a pass, or a run of whole passes, starts. */
export function emptyReport(): SyncReport {
  return {
    done: false,
    eventsReplayed: 0,
    eventsMissing: 0,
    subscriptionsChecked: 0,
    profilesOutOfSync: 0,
    profilesRepaired: 0,
    unmatched: 0,
    tasksDone: 0,
    tasksFailed: 0,
    drift: [],
  };
}

const REPORT_COUNTS = [
  "eventsReplayed",
  "eventsMissing",
  "subscriptionsChecked",
  "profilesOutOfSync",
  "profilesRepaired",
  "unmatched",
  "tasksDone",
  "tasksFailed",
] as const;

/**
 * Adds one call's `report` to `total`, the sum over the calls of a pass: counts add up, drift
 * keeps the first 100 differences, `done` is the last call's.
 */
export function addReport(total: SyncReport, report: SyncReport): void {
  for (const key of REPORT_COUNTS) total[key] += report[key];
  total.drift.push(...report.drift.slice(0, Math.max(0, MAX_DRIFT - total.drift.length)));
  total.done = report.done;
}

/**
 * Runs one call's share of a pass. In write mode it holds the sync's lease for the call
 * (another call meanwhile gets {@link SyncBusyError}) and records its cursor after every page; in
 * check mode it writes nothing and returns the cursor to send back with the next check call.
 */
export async function runSync(deps: SyncDeps, options: SyncOptions = {}): Promise<SyncResult> {
  const write = options.check !== true;
  const maxPages = options.maxPages ?? MAX_PAGES;
  const deadline = performance.now() + (options.timeBudgetMs ?? 50_000);
  const context: CallContext = {
    deps,
    write,
    pageSize: options.pageSize ?? PAGE_SIZE,
    maxPages,
    report: emptyReport(),
    pages: 0,
    events: 0,
  };

  let lease: Lease | undefined;
  let cursor: SyncCursor;
  if (write) {
    lease = await acquireLease(deps.db);
    if (lease === undefined) throw new SyncBusyError();
    cursor = lease.cursor;
  } else {
    const state = await peekState(deps.db);
    if (state.busy) throw new SyncBusyError();
    cursor = options.cursor ?? state.cursor;
  }

  try {
    let step: SyncStep | null = cursor.step;
    while (step !== null && context.pages < maxPages && performance.now() < deadline) {
      const after = await STEPS[step](context, cursor);
      if (after === undefined) break;
      if (after === null) {
        step = nextStep(step);
        cursor = { ...cursor, step: step ?? cursor.step, after: null };
      } else {
        cursor = { ...cursor, after };
      }
      if (lease !== undefined && step !== null) await saveProgress(deps.db, lease, cursor);
      options.onProgress?.({
        step: cursor.step,
        pages: context.pages,
        subscriptions: context.report.subscriptionsChecked,
        events: context.events,
      });
    }
    context.report.done = step === null;
    if (lease !== undefined) {
      if (context.report.done) await finishPass(deps.db, lease);
      else await releaseLease(deps.db, lease);
      lease = undefined;
    }
    return context.report.done || write
      ? { report: context.report }
      : { report: context.report, cursor };
  } finally {
    if (lease !== undefined) {
      const held = lease;
      await releaseLease(deps.db, held).catch((error) =>
        deps.logger.error("sync lease not released", { error: String(error) })
      );
    }
  }
}
