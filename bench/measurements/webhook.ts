/** Webhook throughput: signed events in, committed rows out, beside two floors. */
import type { BenchEnvironment, Subscriber } from "../environment.ts";
import { freePort, median, round, type ServerProcess, startServer, throughput } from "../load.ts";
import { log, post, signedEvents } from "../requests.ts";
import { FLOOR_WEBHOOK, startFunction } from "../servers.ts";
import { columns, type Table } from "../tables.ts";

/** Subscriptions the events are about. */
export const SUBSCRIBERS = 16;

/** Requests in flight in the concurrent runs. */
export const CONCURRENCY = 16;

/** How many events a run sends, by concurrency, and how many rounds there are. */
export interface RatePlan {
  rounds: number;
  events: { c1: number; c16: number };
  warmup: number;
}

/**
 * The plan for a Stripe latency: at 0 ms enough events to last about a second a run; with
 * latency, each event waits for a Stripe read, so fewer events make runs of a few seconds.
 */
export function ratePlan(latencyMs: number, quick: boolean): RatePlan {
  if (latencyMs === 0) {
    return quick
      ? { rounds: 1, events: { c1: 60, c16: 200 }, warmup: 20 }
      : { rounds: 5, events: { c1: 300, c16: 1000 }, warmup: 50 };
  }
  return quick
    ? { rounds: 1, events: { c1: 10, c16: 48 }, warmup: 16 }
    : { rounds: 3, events: { c1: 30, c16: 160 }, warmup: 16 };
}

/** Events per second of each server, by concurrency, over rounds that rotate who goes first. */
export type RateSamples<Name extends string> = Record<"c1" | "c16", Record<Name, number[]>>;

/** Sends the same load to each server in turn, `plan.rounds` times, and returns every rate. */
export async function sampleRates<Name extends string>(
  env: BenchEnvironment,
  servers: Record<Name, ServerProcess>,
  subscribers: Subscriber[],
  plan: RatePlan,
): Promise<RateSamples<Name>> {
  const names = Object.keys(servers) as Name[];
  const run = async (name: Name, count: number, concurrency: number) => {
    const events = await signedEvents(env, subscribers, count);
    return throughput(count, concurrency, (i) => post(servers[name], events[i]!));
  };
  for (const name of names) await run(name, plan.warmup, CONCURRENCY);
  const empty = () =>
    Object.fromEntries(names.map((name) => [name, [] as number[]])) as Record<Name, number[]>;
  const samples: RateSamples<Name> = { c1: empty(), c16: empty() };
  for (let r = 0; r < plan.rounds; r++) {
    for (const [key, concurrency] of [["c1", 1], ["c16", CONCURRENCY]] as const) {
      // Each round starts with a different server, so none always runs first.
      const order = names.map((_, i) => names[(i + r) % names.length]!);
      for (const name of order) {
        const rate = await run(name, plan.events[key], concurrency);
        samples[key][name].push(rate);
        log(`webhook ${key} ${name}: ${round(rate, 1)} events/s`);
      }
    }
  }
  return samples;
}

function startFloor(env: BenchEnvironment, design: boolean): Promise<ServerProcess> {
  const port = freePort();
  return startServer(FLOOR_WEBHOOK, port, {
    ...env.functionEnv,
    PORT: String(port),
    ...(design && { FLOOR_DESIGN: "exactly-once" }),
  });
}

type WebhookServer = "ours" | "floor" | "design";

/** Throughput of the webhook function, the floor and the design floor, at 1 and 16 in flight. */
export async function measureWebhook(
  env: BenchEnvironment,
  settings: { quick: boolean },
): Promise<Table[]> {
  const plan = ratePlan(env.options.stripeLatencyMs, settings.quick);
  const subscribers = await env.createSubscribers(SUBSCRIBERS);
  const servers: Record<WebhookServer, ServerProcess> = {
    ours: await startFunction(env, "stripe-webhook"),
    floor: await startFloor(env, false),
    design: await startFloor(env, true),
  };
  try {
    const samples = await sampleRates(env, servers, subscribers, plan);
    const rows = ([["c1", 1], ["c16", CONCURRENCY]] as const).map(([key, concurrency]) => {
      const o = median(samples[key].ours);
      const f = median(samples[key].floor);
      const d = median(samples[key].design);
      return {
        label: `concurrency ${concurrency}`,
        concurrency,
        ours: round(o, 1),
        floor: round(f, 1),
        ratio: round(o / f),
        design: round(d, 1),
        designRatio: round(d / f),
        ratioToDesign: round(o / d),
      };
    });
    return [webhookTable(rows, plan, env)];
  } finally {
    for (const server of Object.values(servers)) await server.stop();
  }
}

function webhookTable(rows: Table["rows"], plan: RatePlan, env: BenchEnvironment): Table {
  return {
    id: "webhook",
    title: "Webhook throughput (signed customer.subscription.updated, events/s)",
    columns: columns(
      ["concurrency", "concurrency"],
      ["ours", "ours"],
      ["floor", "floor"],
      ["ratio", "ratio"],
      ["design", "design floor"],
      ["designRatio", "design floor / floor"],
      ["ratioToDesign", "ours / design floor"],
    ),
    rows,
    notes: [
      "Ours: supabase/functions/stripe-webhook/index.ts in its own process. Floor: " +
      "bench/floor_webhook.ts (Web Crypto HMAC check, one fetch of the subscription, one UPDATE in " +
      "a transaction, all sent in one round trip). Design floor: the same server applying the " +
      "event with the functions' own applyEventOnce (ledger claim and subscription lock, the " +
      "read, the ranked write and the commit: two round trips), still with fetch and Web Crypto; " +
      "the last two ratios split the distance into what exactly-once, ordered application costs " +
      "and what the Stripe SDK and the function's own code cost. " +
      `${plan.events.c1} / ${plan.events.c16} events per run over ${SUBSCRIBERS} subscriptions, ` +
      `medians of ${plan.rounds} round(s).` +
      (env.onServer ? "" : " Embedded PGlite is one session shared by turns: it runs one " +
        "transaction at a time for all connections, so a transaction held open across a Stripe " +
        "read stalls every other event."),
    ],
  };
}
