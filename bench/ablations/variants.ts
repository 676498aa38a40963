/**
 * Figures of a function started two ways, without and with an optimisation: the two start in
 * turn, a fresh process a block, so that the machine's load falls on both alike.
 */
import type { BenchEnvironment } from "../environment.ts";
import { median, round, throughput } from "../load.ts";
import { post, signedEvents } from "../requests.ts";
import { firstCheckoutTimes } from "../measurements/checkout.ts";
import { CONCURRENCY } from "../measurements/webhook.ts";
import { type FunctionStart, startFunction } from "../servers.ts";
import type { Row } from "../tables.ts";

/** One figure of an ablation, and whether a larger value is better. */
export interface Figure {
  name: string;
  higherIsBetter: boolean;
  /** Measures one block with a fresh process started as `variant`. */
  measure(env: BenchEnvironment, variant: FunctionStart): Promise<number>;
}

/** Blocks of each side per figure. */
const ROUNDS = 3;

/** p50 of 15 first checkouts (customer create and session create, two Stripe calls). */
export const CHECKOUT_FIRST: Figure = {
  name: "checkout first p50 (ms)",
  higherIsBetter: false,
  async measure(env, variant) {
    const users = await env.createUsers(15);
    const server = await startFunction(env, "stripe-checkout", variant);
    try {
      await firstCheckoutTimes(server, await env.createUsers(3));
      return median(await firstCheckoutTimes(server, users));
    } finally {
      await server.stop();
    }
  },
};

/** Webhook events per second at `concurrency` in flight. */
export function webhookRate(concurrency: number, count: number): Figure {
  return {
    name: `webhook throughput, concurrency ${concurrency} (events/s)`,
    higherIsBetter: true,
    async measure(env, variant) {
      const subscribers = await env.createSubscribers(4);
      const warmup = await signedEvents(env, subscribers, CONCURRENCY);
      const events = await signedEvents(env, subscribers, count);
      const server = await startFunction(env, "stripe-webhook", variant);
      try {
        await throughput(warmup.length, CONCURRENCY, (i) => post(server, warmup[i]!));
        return await throughput(count, concurrency, (i) => post(server, events[i]!));
      } finally {
        await server.stop();
      }
    },
  };
}

/**
 * The row of an ablation table: its figure without and with the optimisation. A figure of a part
 * (`judged: false`, one SDK call) shows its change but no verdict: only a figure of a request is
 * what the 5% rule is about.
 */
export function ablationRow(
  optimisation: string,
  figure: string,
  without: number,
  withIt: number,
  options: { higherIsBetter: boolean; judged?: boolean },
): Row {
  const { higherIsBetter, judged = true } = options;
  const gain = higherIsBetter ? (withIt - without) / without : (without - withIt) / without;
  const change = round(gain * 100, 1);
  return {
    label: `${optimisation}: ${figure}`,
    optimisation,
    figure,
    without: round(without),
    with: round(withIt),
    change,
    verdict: !judged ? "(a part; see the next row)" : change > 5 ? "keep (> 5%)" : "drop",
  };
}

/** Medians of each side over blocks taken in turn (without, with, without, with, ...). */
export async function compareVariants(
  env: BenchEnvironment,
  optimisation: string,
  figures: readonly Figure[],
  sides: { without: FunctionStart; with: FunctionStart },
): Promise<Row[]> {
  const rows: Row[] = [];
  for (const figure of figures) {
    const without: number[] = [];
    const withIt: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      without.push(await figure.measure(env, sides.without));
      withIt.push(await figure.measure(env, sides.with));
    }
    rows.push(
      ablationRow(
        optimisation,
        figure.name,
        median(without),
        median(withIt),
        { higherIsBetter: figure.higherIsBetter },
      ),
    );
  }
  return rows;
}
