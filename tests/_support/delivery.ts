/**
 * Delivery plans: the events of played histories shuffled, duplicated and grouped into concurrent
 * bursts, drawn from a seeded generator, described so that a failure shows its order, and
 * delivered.
 */
import type { Stripe } from "../../supabase/functions/_shared/stripe.ts";
import type { Harness } from "./harness.ts";
import { randomInt, type Rng, shuffle } from "./random.ts";

/** How events reach the webhook. */
export type DeliveryMode =
  /** Each event once, in a random order, one after the other. */
  | "shuffled"
  /** Each event 1 to 3 times, in a random order, one after the other. */
  | "duplicated"
  /** Each event 1 to 3 times, in a random order, random slices of it delivered at once. */
  | "bursts";

/** Deliveries in order; a group of more than one is delivered concurrently. */
export type DeliveryPlan = Stripe.Event[][];

/** Each event 1 to 3 times, in order, the counts drawn from `rng`. */
export function copies(events: readonly Stripe.Event[], rng: Rng): Stripe.Event[] {
  return events.flatMap((event) => Array.from({ length: randomInt(rng, 1, 3) }, () => event));
}

/** A delivery plan for `events` in `mode`, drawn from `rng`. */
export function planDeliveries(
  events: readonly Stripe.Event[],
  rng: Rng,
  mode: DeliveryMode,
): DeliveryPlan {
  const order = shuffle(mode === "shuffled" ? [...events] : copies(events, rng), rng);
  if (mode !== "bursts") return order.map((event) => [event]);
  const plan: DeliveryPlan = [];
  for (let i = 0; i < order.length;) {
    const size = rng() < 0.5 ? 1 : randomInt(rng, 2, 8);
    plan.push(order.slice(i, i + size));
    i += size;
  }
  return plan;
}

/** Counts of a plan, for the report. */
export interface PlanStats {
  events: number;
  deliveries: number;
  duplicates: number;
  bursts: number;
}

/** What a plan delivers: distinct events, deliveries, repeats and concurrent groups. */
export function planStats(plan: DeliveryPlan): PlanStats {
  const deliveries = plan.flat();
  const events = new Set(deliveries.map((event) => event.id)).size;
  return {
    events,
    deliveries: deliveries.length,
    duplicates: deliveries.length - events,
    bursts: plan.filter((group) => group.length > 1).length,
  };
}

/**
 * A plan as text: each delivery as `<index in events>:<type>`, concurrent groups in brackets,
 * so that a failure message shows the order that produced it.
 */
export function describePlan(plan: DeliveryPlan, events: readonly Stripe.Event[]): string {
  const index = new Map(events.map((event, i) => [event.id, i]));
  const name = (event: Stripe.Event) =>
    `${index.get(event.id) ?? "?"}:${event.type.replace("customer.subscription.", "sub.")}`;
  return plan.map((group) =>
    group.length === 1 && group[0] ? name(group[0]) : `[${group.map(name).join(" ")}]`
  ).join(" ");
}

/** Delivers a plan; returns a description of every delivery that did not answer 200. */
export async function deliverPlan(h: Harness, plan: DeliveryPlan): Promise<string[]> {
  const problems: string[] = [];
  for (const group of plan) {
    const answers = await Promise.all(group.map(async (event) => {
      const response = await h.deliver(event);
      const body = await response.text();
      return { event, status: response.status, body };
    }));
    for (const { event, status, body } of answers) {
      if (status !== 200 || body !== `{"received":true}`) {
        problems.push(`${event.id} ${event.type}: ${status} ${body}`, ...failureLogs(h, event.id));
      }
    }
  }
  return problems;
}

/** The handler's log lines of failed requests for an event, which carry the cause. */
function failureLogs(h: Harness, eventId: string): string[] {
  return h.logs.filter((line) => line.includes(eventId) && line.includes(`"error"`))
    .map((line) => `    log: ${line}`);
}
