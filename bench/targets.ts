/**
 * The bench's targets, each written once: which figure of which table, the comparison, the
 * threshold and its unit. The report says "met" or "NOT met" from this table alone; a missed
 * target is reported, never enforced.
 */
import type { Row, Table } from "./tables.ts";

/** How a figure is held against its threshold. */
export type Comparison = ">=" | "<=" | "==";

/** One target. */
export interface Target {
  name: string;
  /** The table's id (tables.ts) and the row key of the figure. */
  table: string;
  figure: string;
  /** Only rows holding these values; every row of the table when unset. */
  where?: Record<string, string>;
  comparison: Comparison;
  threshold: number;
  unit: string;
}

/** Every target of SPEC "Performance", and those of the sync pass. */
export const TARGETS: readonly Target[] = [
  {
    name: "Webhook throughput over its floor",
    table: "webhook",
    figure: "ratio",
    comparison: ">=",
    threshold: 0.8,
    unit: "x",
  },
  {
    name: "Cold start over a bare Deno.serve (median of pairs)",
    table: "cold-start",
    figure: "pairRatio",
    comparison: "<=",
    threshold: 2,
    unit: "x",
  },
  {
    name: "Checkout time added to the emulator's, p50",
    table: "checkout",
    figure: "addedP50",
    comparison: "<=",
    threshold: 2,
    unit: " ms",
  },
  {
    name: "Peak memory of a function under load",
    table: "memory",
    figure: "peakMiB",
    where: { kind: "function" },
    comparison: "<=",
    threshold: 100,
    unit: " MiB",
  },
  {
    name: "Checkout database round trips",
    table: "counts",
    figure: "roundTrips",
    where: { request: "checkout" },
    comparison: "<=",
    threshold: 2,
    unit: "",
  },
  {
    name: "Portal database round trips",
    table: "counts",
    figure: "roundTrips",
    where: { request: "portal" },
    comparison: "==",
    threshold: 1,
    unit: "",
  },
  {
    name: "Webhook transactions per event",
    table: "counts",
    figure: "transactions",
    where: { request: "webhook" },
    comparison: "==",
    threshold: 1,
    unit: "",
  },
  {
    name: "Sync: database round trips per page of 100, nothing drifted",
    table: "sync",
    figure: "roundTripsPerPage",
    where: { pass: "nothing drifted" },
    comparison: "<=",
    threshold: 3,
    unit: "",
  },
  {
    name: "Sync: subscription re-reads per drifted subscription",
    table: "sync",
    figure: "rereadsPerDrifted",
    comparison: "==",
    threshold: 1,
    unit: "",
  },
  {
    name: "Sync: Stripe calls for unchanged subscriptions",
    table: "sync",
    figure: "forUnchanged",
    comparison: "==",
    threshold: 0,
    unit: "",
  },
  {
    name: "Sync: peak memory of the process running the pass",
    table: "sync",
    figure: "peakMiB",
    comparison: "<=",
    threshold: 100,
    unit: " MiB",
  },
  {
    name: "Sync: peak memory over the smallest size's (independent of the count)",
    table: "sync",
    figure: "peakGrowth",
    comparison: "<=",
    threshold: 1.2,
    unit: "x",
  },
];

/** The targets of one table. */
export function targetsOf(table: Table): Target[] {
  return TARGETS.filter((target) => target.table === table.id);
}

/** Whether `target` judges `row`. */
export function applies(target: Target, row: Row): boolean {
  const value = row[target.figure];
  if (value === undefined || (typeof value === "number" && Number.isNaN(value))) return false;
  return Object.entries(target.where ?? {}).every(([key, wanted]) => row[key] === wanted);
}

/** "met" or "NOT met" for a row the target applies to. */
export function verdict(target: Target, row: Row): string {
  const value = Number(row[target.figure]);
  const met = target.comparison === ">="
    ? value >= target.threshold
    : target.comparison === "<="
    ? value <= target.threshold
    : value === target.threshold;
  return met ? "met" : "NOT met";
}

/** The target as a reader sees it: `ratio >= 0.8x`. */
export function describe(target: Target, figureHeader: string): string {
  return `${figureHeader} ${target.comparison} ${target.threshold}${target.unit}`;
}
