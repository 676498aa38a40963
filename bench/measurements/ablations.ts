/**
 * Three optimisations dropped from the product (a stack-trace setting, a key cache and
 * `synchronous_commit = off`), measured without putting them back, with the emulator answering
 * after a realistic Stripe round trip: the table says for each what it would still move.
 */
import { measureCallerStack } from "../ablations/caller_stack.ts";
import { measureCryptoProvider } from "../ablations/crypto_provider.ts";
import { measureSynchronousCommit } from "../ablations/synchronous_commit.ts";
import { type BenchEnvironment, startEnvironment } from "../environment.ts";
import { log } from "../requests.ts";
import { columns, type Row, type Table } from "../tables.ts";

/** The Stripe latency the ablations are judged at. */
export const ABLATION_LATENCY_MS = 100;

/** Runs the three ablations, in an environment of their own unless `env` has their latency. */
export async function measureAblations(env: BenchEnvironment): Promise<Table[]> {
  const own = env.options.stripeLatencyMs === ABLATION_LATENCY_MS
    ? undefined
    : await startEnvironment({ ...env.options, stripeLatencyMs: ABLATION_LATENCY_MS });
  const at = own ?? env;
  try {
    const rows: Row[] = [];
    log("ablation: withoutCallerStack");
    rows.push(...await measureCallerStack(at));
    log("ablation: KeyCachingCryptoProvider");
    rows.push(...await measureCryptoProvider(at));
    log("ablation: synchronous_commit = off");
    const commit = await measureSynchronousCommit(at);
    rows.push(
      ...(commit.length > 0 ? commit : [{
        label: "synchronous_commit = off",
        optimisation: "synchronous_commit = off",
        figure: "not applicable on embedded PGlite (no WAL flush to skip)",
        without: NaN,
        with: NaN,
        change: NaN,
        verdict: "-",
      }]),
    );
    return [ablationTable(rows)];
  } finally {
    await own?.close();
  }
}

function ablationTable(rows: Row[]): Table {
  return {
    id: "ablations",
    title: `Dropped optimisations, at ${ABLATION_LATENCY_MS} ms Stripe latency`,
    columns: columns(
      ["optimisation", "optimisation"],
      ["figure", "figure"],
      ["without", "without"],
      ["with", "with"],
      ["change", "change %"],
      ["verdict", "verdict"],
    ),
    rows,
    notes: [
      "Change %: what the optimisation gains (time saved, or throughput added), over the figure " +
      "without it; kept only above 5%. Process figures are medians of three blocks a side, each " +
      "a fresh process, the sides in turn. withoutCallerStack: the function started with " +
      "`--v8-flags=--stack-trace-limit=0`, the same effect process-wide. KeyCachingCryptoProvider: " +
      "bench/ablations/key_caching_crypto_provider.ts against `Stripe.createSubtleCryptoProvider()`, " +
      "medians of 20 blocks of 200 verifications of a signed event in this process; its second " +
      "row takes that saving off the median of 20 sequential webhook requests. " +
      "synchronous_commit = off: the functions' connections get it through the URL's startup " +
      "`options` (checked with `show synchronous_commit`).",
    ],
  };
}
