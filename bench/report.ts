/**
 * The bench's report: each measurement's tables with a column per target that judges them, and a
 * summary of every target at each Stripe latency run, all from the one table in targets.ts.
 */
import { round } from "./load.ts";
import type { Cell, Row, Table } from "./tables.ts";
import { applies, describe, type Target, TARGETS, targetsOf, verdict } from "./targets.ts";

/** The machine a run measured on. */
export interface Machine {
  nproc: number;
  cpu: string;
  memoryGiB: number;
  deno: string;
}

/** Reads the machine's cores, CPU and memory. */
export async function readMachine(): Promise<Machine> {
  const cpuinfo = await Deno.readTextFile("/proc/cpuinfo").catch(() => "");
  const meminfo = await Deno.readTextFile("/proc/meminfo").catch(() => "");
  const memKb = Number(/^MemTotal:\s+(\d+)/m.exec(meminfo)?.[1] ?? NaN);
  return {
    nproc: navigator.hardwareConcurrency,
    cpu: /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1]?.trim() ?? "unknown",
    memoryGiB: round(memKb / 1024 / 1024, 1),
    deno: Deno.version.deno,
  };
}

/** The tables measured at one Stripe latency. */
export interface LatencyRun {
  latencyMs: number;
  tables: Table[];
}

/** A whole run: what ran at each latency, and what ran once (at the first). */
export interface BenchRun {
  machine: Machine;
  database: string;
  date: string;
  quick: boolean;
  runs: LatencyRun[];
  once: LatencyRun;
  seconds: number;
}

function text(cell: Cell | undefined): string {
  if (cell === undefined) return "-";
  if (typeof cell === "number") return Number.isNaN(cell) ? "-" : String(cell);
  return cell;
}

/** A Markdown table. */
export function markdownTable(header: string[], rows: string[][]): string {
  const widths = header.map((_, i) =>
    Math.max(3, ...[header, ...rows].map((r) => r[i]?.length ?? 0))
  );
  const line = (row: string[]) =>
    `| ${row.map((cell, i) => cell.padEnd(widths[i]!)).join(" | ")} |`;
  return [line(header), line(widths.map((width) => "-".repeat(width))), ...rows.map(line)]
    .join("\n");
}

function headerOf(table: Table, key: string): string {
  return table.columns.find((column) => column.key === key)?.header ?? key;
}

function targetCell(target: Target, row: Row): string {
  return applies(target, row) ? verdict(target, row) : "-";
}

/** One measurement's table, a column for each of its targets. */
export function renderTable(table: Table, level = "###"): string {
  const targets = targetsOf(table);
  const header = [
    ...table.columns.map((column) => column.header),
    ...targets.map((target) => `target ${describe(target, headerOf(table, target.figure))}`),
  ];
  const rows = table.rows.map((row) => [
    ...table.columns.map((column) => text(row[column.key])),
    ...targets.map((target) => targetCell(target, row)),
  ]);
  return [
    `${level} ${table.title}`,
    "",
    markdownTable(header, rows),
    "",
    ...table.notes.flatMap((
      note,
    ) => [note, ""]),
  ].join("\n");
}

/** Every target's figure and verdict at each latency, a row per row it judges. */
function targetSummary(run: BenchRun): string {
  const latencies = run.runs.map((r) => r.latencyMs);
  const tablesAt = (latency: number) => [
    ...(run.runs.find((r) => r.latencyMs === latency)?.tables ?? []),
    ...(run.once.latencyMs === latency ? run.once.tables : []),
  ];
  const rows: string[][] = [];
  for (const target of TARGETS) {
    const labels = new Set<string>();
    for (const latency of latencies) {
      for (const table of tablesAt(latency).filter((t) => t.id === target.table)) {
        for (const row of table.rows.filter((r) => applies(target, r))) labels.add(row.label);
      }
    }
    for (const label of labels) {
      rows.push([
        `${target.name} (${target.comparison} ${target.threshold}${target.unit})`,
        label,
        ...latencies.map((latency) => {
          const row = tablesAt(latency).filter((t) => t.id === target.table)
            .flatMap((t) => t.rows).find((r) => r.label === label && applies(target, r));
          return row ? `${text(row[target.figure])} ${verdict(target, row)}` : "not run";
        }),
      ]);
    }
  }
  return markdownTable(
    ["target", "row", ...latencies.map((latency) => `at ${latency} ms Stripe latency`)],
    rows,
  );
}

/** The whole report, in Markdown. */
export function renderReport(run: BenchRun): string {
  const { machine } = run;
  const latencies = run.runs.map((r) => r.latencyMs).join(" and ");
  const sections = [
    `# Benchmark results${run.quick ? " (quick run)" : ""}`,
    "",
    `Machine: ${machine.nproc} cores, ${machine.cpu}, ${machine.memoryGiB} GiB memory; ` +
    `Deno ${machine.deno}; database: ${run.database}; Stripe: local emulator answering after ` +
    `${latencies} ms; ${run.date}; on 127.0.0.1.`,
    "",
    "## Targets",
    "",
    targetSummary(run),
    "",
    "Targets are reported, never enforced (bench/targets.ts holds each one once). " +
    "Start-up figures, the per-request counts and the ablations run once, at " +
    `${run.once.latencyMs} ms (the ablations at their own 100 ms); "not run" marks them at the ` +
    "other latencies.",
    "",
  ];
  if (run.once.tables.length > 0) {
    sections.push(`## Measured once (at ${run.once.latencyMs} ms)`, "");
    sections.push(...run.once.tables.map((table) => renderTable(table)));
  }
  for (const { latencyMs, tables } of run.runs) {
    if (tables.length === 0) continue;
    sections.push(`## At ${latencyMs} ms Stripe latency`, "");
    sections.push(...tables.map((table) => renderTable(table)));
  }
  sections.push(`Total bench time: ${round(run.seconds, 1)} s.`);
  return sections.join("\n") + "\n";
}
