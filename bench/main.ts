/**
 * `deno task bench [options]`: each figure of SPEC "Performance" beside a floor measured in the
 * same run. Prints the report, writes it to bench/RESULTS.md (bench/RESULTS-postgres.md when
 * DATABASE_URL names a PostgreSQL server), and ends with one JSON line of every table.
 *
 * Options:
 * - `--stripe-latency-ms=0,100`: every Stripe API answer of the emulator waits this long; with a
 *   list, the figures that depend on Stripe run at each (default 0).
 * - `--only=webhook,checkout`: only these measurements (counts, startup, webhook, checkout,
 *   memory, sync, ablations; default all).
 * - `--sync-sizes=2000,10000`: subscriptions in the sync pass's accounts.
 * - `--quick` (or `BENCH_QUICK=1`): fewer samples, smaller sync accounts.
 * - `--out=<file>`: where the report goes instead.
 *
 * Counts, start-up figures and the ablations run once, at the first latency (the ablations at
 * their own 100 ms); the rest at each. Targets (bench/targets.ts) are reported, never enforced.
 */
import { measureAblations } from "./measurements/ablations.ts";
import { measureCheckout } from "./measurements/checkout.ts";
import { measureCounts } from "./measurements/counts.ts";
import { measureMemory } from "./measurements/memory.ts";
import { measureStartup } from "./measurements/startup.ts";
import { measureSync } from "./measurements/sync.ts";
import { measureWebhook } from "./measurements/webhook.ts";
import { type BenchEnvironment, startEnvironment } from "./environment.ts";
import { portIsFree } from "../dev/ports.ts";
import { stopAllServers } from "./load.ts";
import { type BenchOptions, type MeasurementName, parseOptions } from "./options.ts";
import { type LatencyRun, readMachine, renderReport } from "./report.ts";
import { log } from "./requests.ts";
import { cacheDependencies, FUNCTION_PORT } from "./servers.ts";
import type { Table } from "./tables.ts";

type Measure = (env: BenchEnvironment, options: BenchOptions) => Promise<Table[]>;

/** Each measurement, and whether it runs once or at each Stripe latency. */
const MEASUREMENTS: Record<MeasurementName, { measure: Measure; once: boolean }> = {
  counts: { measure: measureCounts, once: true },
  startup: { measure: measureStartup, once: true },
  webhook: { measure: measureWebhook, once: false },
  checkout: { measure: measureCheckout, once: false },
  memory: { measure: measureMemory, once: false },
  sync: { measure: measureSync, once: false },
  ablations: { measure: measureAblations, once: true },
};

/** Runs the selected measurements at one latency; `once` adds those that run only once. */
async function runAt(options: BenchOptions, latencyMs: number, once: boolean) {
  const env = await startEnvironment({ stripeLatencyMs: latencyMs });
  const stop = () => env.close();
  try {
    const run: LatencyRun = { latencyMs, tables: [] };
    const onceRun: LatencyRun = { latencyMs, tables: [] };
    for (const name of options.only) {
      const { measure, once: onlyOnce } = MEASUREMENTS[name];
      if (onlyOnce && !once) continue;
      log(`${name} at ${latencyMs} ms Stripe latency (${env.databaseKind})`);
      (onlyOnce ? onceRun : run).tables.push(...await measure(env, options));
    }
    return { run, once: onceRun, database: env.databaseKind };
  } finally {
    await stopAllServers();
    await stop();
  }
}

async function writeReport(path: string, report: string): Promise<void> {
  await Deno.writeTextFile(path, report);
  // Wraps the prose as `deno fmt --check` expects; the figures are untouched.
  await new Deno.Command(Deno.execPath(), {
    args: ["fmt", "--quiet", path],
    stdout: "null",
    stderr: "null",
  }).output();
}

async function main(args: readonly string[]) {
  const started = performance.now();
  const options = parseOptions(args);
  if (!portIsFree(FUNCTION_PORT)) {
    throw new Error(
      `Port ${FUNCTION_PORT} is in use; the functions' Deno.serve listens there, so free it first`,
    );
  }
  log(`caching the functions' dependencies${options.quick ? " (quick run)" : ""}`);
  await cacheDependencies();
  const onSignal = () => {
    stopAllServers().finally(() => Deno.exit(130));
  };
  Deno.addSignalListener("SIGINT", onSignal);
  Deno.addSignalListener("SIGTERM", onSignal);
  try {
    const runs: LatencyRun[] = [];
    let once: LatencyRun | undefined;
    let database = "";
    for (const [index, latencyMs] of options.latenciesMs.entries()) {
      const result = await runAt(options, latencyMs, index === 0);
      runs.push(result.run);
      once ??= result.once;
      database = result.database;
    }
    const run = {
      machine: await readMachine(),
      database,
      date: new Date().toISOString(),
      quick: options.quick,
      runs,
      once: once!,
      seconds: (performance.now() - started) / 1000,
    };
    const report = renderReport(run);
    console.log(report);
    const fallback = Deno.env.get("DATABASE_URL") ? "RESULTS-postgres.md" : "RESULTS.md";
    await writeReport(options.out ?? new URL(fallback, import.meta.url).pathname, report);
    console.log(JSON.stringify(run));
  } finally {
    Deno.removeSignalListener("SIGINT", onSignal);
    Deno.removeSignalListener("SIGTERM", onSignal);
  }
}

if (import.meta.main) {
  try {
    await main(Deno.args);
  } catch (error) {
    await stopAllServers();
    console.error(`bench failed: ${error instanceof Error ? error.stack : String(error)}`);
    Deno.exitCode = 1;
  }
}
