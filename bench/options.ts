/** The bench's command line (see main.ts for what each option does). */

/** The measurements, by the names `--only` takes. */
export const MEASUREMENT_NAMES = [
  "counts",
  "startup",
  "webhook",
  "checkout",
  "memory",
  "sync",
  "ablations",
] as const;

/** One measurement's name. */
export type MeasurementName = typeof MEASUREMENT_NAMES[number];

/** What a run measures, and how. */
export interface BenchOptions {
  latenciesMs: number[];
  only: MeasurementName[];
  quick: boolean;
  syncSizes: number[];
  /** Where the report goes; by database when unset. */
  out: string | undefined;
}

function numbers(name: string, value: string): number[] {
  const list = value.split(",").map((part) => Number(part.trim()));
  if (list.length === 0 || list.some((n) => !Number.isSafeInteger(n) || n < 0)) {
    throw new Error(`Invalid --${name} "${value}": expected whole numbers separated by commas`);
  }
  return list;
}

function measurements(value: string): MeasurementName[] {
  return value.split(",").map((part) => {
    const name = MEASUREMENT_NAMES.find((candidate) => candidate === part.trim());
    if (name === undefined) {
      throw new Error(`Unknown measurement "${part}": use ${MEASUREMENT_NAMES.join(", ")}`);
    }
    return name;
  });
}

/** Reads `--name=value` options; anything else is an error naming it. */
export function parseOptions(args: readonly string[]): BenchOptions {
  const quick = args.includes("--quick") || Deno.env.get("BENCH_QUICK") === "1";
  const options: BenchOptions = {
    latenciesMs: [0],
    only: [...MEASUREMENT_NAMES],
    quick,
    syncSizes: quick ? [500, 2000] : [2000, 10000],
    out: undefined,
  };
  for (const arg of args) {
    if (arg === "--quick") continue;
    const [, name, value] = /^--([a-z-]+)=(.*)$/.exec(arg) ?? [];
    if (name === "stripe-latency-ms") options.latenciesMs = numbers(name, value!);
    else if (name === "only") options.only = measurements(value!);
    else if (name === "sync-sizes") options.syncSizes = numbers(name, value!);
    else if (name === "out") options.out = value;
    else throw new Error(`Unknown option "${arg}"`);
  }
  return options;
}
