/**
 * Seeded, reproducible subscription histories for property tests: a generator of valid action
 * sequences (a pure function of a seed), a runner that plays one against the Stripe emulator
 * (the true state), and delivery plans that shuffle, duplicate and burst the events it produced.
 */
import assert from "node:assert/strict";
import { DEFAULT_PRICE_ID } from "../dev/stripe/mod.ts";
import type { Stripe } from "../supabase/functions/_shared/stripe.ts";
import { idOf } from "../supabase/functions/_shared/subscription.ts";
import type { Harness, ProfileRow, TestUser } from "./harness.ts";

/** A pseudo-random number in [0, 1). */
export type Rng = () => number;

/** A deterministic pseudo-random generator (mulberry32) from a 32-bit seed. */
export function mulberry32(seed: number): Rng {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** An integer in [min, max]. */
export function randomInt(rng: Rng, min: number, max: number): number {
  return min + Math.floor(rng() * (max - min + 1));
}

/** One element of a non-empty list. */
function pick<T>(rng: Rng, items: readonly T[]): T {
  const item = items[Math.floor(rng() * items.length)];
  if (item === undefined) throw new Error("Cannot pick from an empty list");
  return item;
}

/** A shuffled copy (Fisher-Yates). */
export function shuffle<T>(items: readonly T[], rng: Rng): T[] {
  const result = [...items];
  for (let i = result.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    [result[i], result[j]] = [result[j] as T, result[i] as T];
  }
  return result;
}

/** The base seed: `HISTORY_SEED` when set, else a fixed default. */
export function baseSeed(fallback = 20261124): number {
  const text = Deno.env.get("HISTORY_SEED");
  if (text === undefined || text.trim() === "") return fallback;
  const seed = Number(text);
  if (!Number.isInteger(seed)) throw new Error(`HISTORY_SEED is not an integer: "${text}"`);
  return seed >>> 0;
}

/** One step of a subscription's life at Stripe. */
export type Op =
  | { op: "start"; trialDays: number }
  | { op: "renew"; fail?: boolean }
  | { op: "changePrice"; to: "second" | "default" }
  | { op: "cancelAtPeriodEnd"; enabled: boolean }
  /** `days` after the current period's end (negative: before it), or null to clear. */
  | { op: "cancelAt"; days: number | null }
  | { op: "failNextPayment" }
  | { op: "payOpenInvoice" }
  | { op: "requireAction" }
  | { op: "pause" }
  | { op: "resume" }
  | { op: "endTrial" }
  | { op: "trialWillEnd" }
  | { op: "pendingUpdateApplied" }
  | { op: "pendingUpdateExpired" }
  | { op: "cancelNow" };

/** How {@link generateHistory} shapes a history. */
export interface HistoryOptions {
  /** Fewest actions after the start. Default 3. */
  minActions?: number;
  /** Most actions after the start. Default 12. */
  maxActions?: number;
  /** Chance that a trial starts the subscription. Default 0.3. */
  trialChance?: number;
  /** Chance of each action being an immediate cancellation, which ends the history. Default 0.05. */
  cancelChance?: number;
  /** Ends the history canceled when it did not end so. Default false. */
  endCanceled?: boolean;
}

/** What the generator believes the subscription looks like (it mirrors the emulator's rules). */
interface Model {
  status: "trialing" | "active" | "past_due" | "paused" | "canceled";
  openInvoice: boolean;
  failNext: boolean;
  cancelAtPeriodEnd: boolean;
  /** Days from start to the scheduled cancellation, or null. */
  cancelAt: number | null;
  /** Days from start to the current period's end. */
  periodEnd: number;
  secondPrice: boolean;
}

/** A month as the generator counts it; calendar months differ by a few days, so margins are wide. */
const MONTH = 30;

/**
 * A random valid history of one subscription: a start (with or without a trial), then a random
 * walk of actions valid in the state the previous ones lead to. A pure function of `rng`.
 */
export function generateHistory(rng: Rng, options: HistoryOptions = {}): Op[] {
  const {
    minActions = 3,
    maxActions = 12,
    trialChance = 0.3,
    cancelChance = 0.05,
    endCanceled = false,
  } = options;
  const trialDays = rng() < trialChance ? pick(rng, [7, 14]) : 0;
  const ops: Op[] = [{ op: "start", trialDays }];
  const model: Model = {
    status: trialDays > 0 ? "trialing" : "active",
    openInvoice: false,
    failNext: false,
    cancelAtPeriodEnd: false,
    cancelAt: null,
    periodEnd: trialDays > 0 ? trialDays : MONTH,
    secondPrice: false,
  };
  const count = randomInt(rng, minActions, maxActions);
  for (let i = 0; i < count && model.status !== "canceled"; i++) {
    if (rng() < cancelChance) {
      ops.push({ op: "cancelNow" });
      model.status = "canceled";
      break;
    }
    const op = pick(rng, candidates(model, rng));
    step(model, op);
    ops.push(op);
  }
  if (endCanceled && model.status !== "canceled") ops.push({ op: "cancelNow" });
  return ops;
}

/** The actions the emulator allows in the modelled state (common ones listed twice). */
function candidates(model: Model, rng: Rng): Op[] {
  const ops: Op[] = [
    { op: "changePrice", to: model.secondPrice ? "default" : "second" },
    { op: "cancelAtPeriodEnd", enabled: !model.cancelAtPeriodEnd },
    { op: "pendingUpdateApplied" },
    { op: "pendingUpdateExpired" },
  ];
  // Before the period ends (the next renewal cancels), or after it (one renewal survives).
  ops.push(
    model.cancelAt === null
      ? { op: "cancelAt", days: pick(rng, [-10, 15]) }
      : { op: "cancelAt", days: null },
  );
  if (model.status !== "paused") {
    ops.push({ op: "renew" }, { op: "renew" }, { op: "renew", fail: true }, { op: "pause" });
    if (!model.failNext) ops.push({ op: "failNextPayment" });
    ops.push({ op: "requireAction" });
  } else {
    ops.push({ op: "resume" }, { op: "resume" });
  }
  if (model.openInvoice) ops.push({ op: "payOpenInvoice" }, { op: "payOpenInvoice" });
  if (model.status === "trialing") {
    ops.push({ op: "endTrial" }, { op: "trialWillEnd" }, { op: "trialWillEnd" });
  }
  return ops;
}

/** Advances the model the way the emulator advances the subscription. */
function step(model: Model, op: Op): void {
  switch (op.op) {
    case "changePrice":
      model.secondPrice = op.to === "second";
      return;
    case "cancelAtPeriodEnd":
      model.cancelAtPeriodEnd = op.enabled;
      model.cancelAt = op.enabled ? model.periodEnd : null;
      return;
    case "cancelAt":
      model.cancelAt = op.days === null ? null : model.periodEnd + op.days;
      model.cancelAtPeriodEnd = false;
      return;
    case "failNextPayment":
      model.failNext = true;
      return;
    case "renew":
    case "requireAction": {
      if (op.op === "requireAction" && model.openInvoice) return;
      if (
        model.cancelAtPeriodEnd || (model.cancelAt !== null && model.cancelAt <= model.periodEnd)
      ) {
        model.status = "canceled";
        return;
      }
      model.periodEnd += MONTH;
      bill(model, op.op === "requireAction" || (op.op === "renew" && op.fail === true));
      return;
    }
    case "payOpenInvoice":
      model.openInvoice = false;
      model.failNext = false;
      if (model.status === "past_due") model.status = "active";
      return;
    case "pause":
      model.status = "paused";
      return;
    case "resume":
      model.status = "active";
      model.periodEnd = MONTH;
      return;
    case "endTrial":
      model.periodEnd = MONTH;
      bill(model, false);
      return;
    case "cancelNow":
      model.status = "canceled";
      return;
    case "start":
    case "trialWillEnd":
    case "pendingUpdateApplied":
    case "pendingUpdateExpired":
      return;
  }
}

/** Bills a period: paid (back to active) or failed (past_due with an open invoice). */
function bill(model: Model, fail: boolean): void {
  const failed = fail || model.failNext;
  model.failNext = false;
  if (failed) {
    model.status = "past_due";
    model.openInvoice = true;
  } else {
    model.status = "active";
    model.openInvoice = false;
  }
}

/** A history as played: its subscription and the events it produced, oldest first. */
export interface PlayedHistory {
  user: TestUser;
  ops: Op[];
  /** Each op as run, `!` marking one the emulator refused (skipped, deterministically). */
  log: string[];
  sessionId: string;
  subscriptionId: string;
  customerId: string;
  events: Stripe.Event[];
}

/** A short text for an op, for logs and failure messages. */
function describeOp(op: Op): string {
  const { op: name, ...args } = op;
  const values = Object.values(args);
  return values.length === 0 ? name : `${name}(${values.map((v) => JSON.stringify(v)).join(",")})`;
}

/** The second price of the plan change, one per environment. */
const secondPrices = new WeakMap<Harness, Promise<string>>();

/** A monthly price other than the default, created once per harness. */
function secondPrice(h: Harness): Promise<string> {
  let price = secondPrices.get(h);
  if (price === undefined) {
    price = h.stripe.prices.create({
      currency: "usd",
      unit_amount: 3000,
      recurring: { interval: "month" },
      product_data: { name: "Business" },
    }).then((created) => created.id);
    secondPrices.set(h, price);
  }
  return price;
}

/** The emulator's event count, a marker for {@link eventsSince}. */
function eventMark(h: Harness): number {
  return h.emulator.state.events.length;
}

/**
 * Events after `mark` whose object is the subscription, one of its invoices, or the session.
 * Reads the emulator's list in place: copying every event of a long run per history is slow.
 */
function eventsSince(
  h: Harness,
  mark: number,
  subscriptionId: string,
  sessionId?: string,
): Stripe.Event[] {
  const found = h.emulator.state.events.slice(mark).filter((event) => {
    const object = event.data.object as { id?: unknown; object?: unknown };
    if (object.id === subscriptionId || (sessionId !== undefined && object.id === sessionId)) {
      return true;
    }
    if (event.data.object.object !== "invoice") return false;
    const parent = (event.data.object as Stripe.Invoice).parent;
    return parent?.subscription_details?.subscription === subscriptionId;
  });
  return JSON.parse(JSON.stringify(found));
}

/**
 * Plays a history against the emulator: a real checkout through the handler, the session paid
 * at the emulator, then each action. Returns the events the history produced. `afterStep`, when
 * given, is awaited after the start and after each action with the events that step produced,
 * so that a test can deliver them while the history is still going on.
 */
export async function applyHistory(
  h: Harness,
  user: TestUser,
  ops: readonly Op[],
  afterStep?: (events: Stripe.Event[], step: string) => Promise<void>,
): Promise<PlayedHistory> {
  const [start, ...actions] = ops;
  assert.ok(start?.op === "start", "a history begins with its start");
  const second = await secondPrice(h);
  const mark = eventMark(h);
  const response = await h.post(h.checkout, user.token);
  const body = await response.text();
  assert.equal(response.status, 200, `checkout for ${user.id}: ${body}`);
  const session = [...h.emulator.state.checkouts.values()]
    .map((record) => record.session)
    .findLast((s) => s.client_reference_id === user.id && s.status === "open");
  assert.ok(session, `checkout made no open session for ${user.id}`);
  const subscription = h.emulator.completeCheckout(
    session.id,
    start.trialDays > 0 ? { trialDays: start.trialDays } : {},
  );
  const control = h.emulator.subscription(subscription.id);
  const log = [describeOp(start)];
  let stepMark = mark;
  const stepDone = async () => {
    if (afterStep === undefined) return;
    const events = eventsSince(h, stepMark, subscription.id, session.id);
    stepMark = eventMark(h);
    await afterStep(events, log.at(-1) ?? "");
  };
  await stepDone();
  for (const op of actions) {
    try {
      run(h, control, subscription.id, op, second);
      log.push(describeOp(op));
    } catch (error) {
      // The emulator refused (its state differs from the model's); the refusal is deterministic.
      if (!(error instanceof Error)) throw error;
      log.push(`!${describeOp(op)}`);
    }
    await stepDone();
  }
  const customerId = idOf(subscription.customer);
  assert.ok(customerId, `subscription ${subscription.id} has no customer`);
  return {
    user,
    ops: [...ops],
    log,
    sessionId: session.id,
    subscriptionId: subscription.id,
    customerId,
    events: eventsSince(h, mark, subscription.id, session.id),
  };
}

const DAY = 24 * 60 * 60;

function run(
  h: Harness,
  control: ReturnType<Harness["emulator"]["subscription"]>,
  subscriptionId: string,
  op: Op,
  second: string,
): void {
  switch (op.op) {
    case "start":
      throw new Error("A history starts once");
    case "renew":
      control.renew({ fail: op.fail === true });
      return;
    case "changePrice":
      control.changePrice(op.to === "second" ? second : DEFAULT_PRICE_ID);
      return;
    case "cancelAtPeriodEnd":
      control.cancelAtPeriodEnd(op.enabled);
      return;
    case "cancelAt": {
      if (op.days === null) {
        control.cancelAt(null);
        return;
      }
      const current = h.emulator.state.subscription(subscriptionId);
      const end = current.items.data[0]?.current_period_end ?? Math.floor(Date.now() / 1000);
      // An hour off the boundary, so that the scheduled time never equals the period's end.
      control.cancelAt(end + op.days * DAY + 3600);
      return;
    }
    case "failNextPayment":
    case "payOpenInvoice":
    case "requireAction":
    case "pause":
    case "resume":
    case "endTrial":
    case "trialWillEnd":
    case "pendingUpdateApplied":
    case "pendingUpdateExpired":
    case "cancelNow":
      control[op.op]();
      return;
  }
}

/**
 * The event types the webhook applies and records in its ledger (the spec's table), written out
 * here rather than imported so that the product's list is checked against it.
 */
export const APPLIED_TYPES: readonly string[] = [
  "checkout.session.completed",
  "customer.subscription.created",
  "customer.subscription.updated",
  "customer.subscription.deleted",
  "customer.subscription.paused",
  "customer.subscription.resumed",
  "customer.subscription.pending_update_applied",
  "customer.subscription.pending_update_expired",
  "customer.subscription.trial_will_end",
  "invoice.paid",
  "invoice.payment_failed",
  "invoice.payment_action_required",
];

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

// ---- what the profile must hold ---------------------------------------------------------------

/** The billing columns of a profile. */
export type Billing = Pick<
  ProfileRow,
  | "subscription_status"
  | "stripe_subscription_id"
  | "stripe_customer_id"
  | "price_id"
  | "current_period_end"
  | "cancel_at_period_end"
  | "cancel_at"
  | "canceled_at"
  | "trial_end"
  | "subscription_created_at"
>;

function dateOf(seconds: number | null): Date | null {
  return seconds === null ? null : new Date(seconds * 1000);
}

/** The billing columns a subscription defines, computed here from Stripe's object. */
export function expectedBilling(subscription: Stripe.Subscription): Billing {
  const items = subscription.items.data;
  const ends = items.map((item) => item.current_period_end);
  return {
    subscription_status: subscription.status,
    stripe_subscription_id: subscription.id,
    stripe_customer_id: idOf(subscription.customer),
    price_id: items[0]?.price.id ?? null,
    current_period_end: ends.length === 0 ? null : dateOf(Math.max(...ends)),
    cancel_at_period_end: subscription.cancel_at_period_end,
    cancel_at: dateOf(subscription.cancel_at),
    canceled_at: dateOf(subscription.canceled_at),
    trial_end: dateOf(subscription.trial_end),
    subscription_created_at: dateOf(subscription.created),
  };
}

/** The billing columns the profile holds. */
export async function actualBilling(h: Harness, userId: string): Promise<Billing> {
  const p = await h.profile(userId);
  return {
    subscription_status: p.subscription_status,
    stripe_subscription_id: p.stripe_subscription_id,
    stripe_customer_id: p.stripe_customer_id,
    price_id: p.price_id,
    current_period_end: p.current_period_end,
    cancel_at_period_end: p.cancel_at_period_end,
    cancel_at: p.cancel_at,
    canceled_at: p.canceled_at,
    trial_end: p.trial_end,
    subscription_created_at: p.subscription_created_at,
  };
}

/** Problems with the ledger: a handled event without its one row, or an unhandled one with a row. */
export async function ledgerProblems(
  h: Harness,
  events: readonly Stripe.Event[],
): Promise<string[]> {
  const ids = [...new Set(events.map((event) => event.id))];
  const rows = await h.sql<{ id: string; n: number }[]>`
    select id, count(*)::int as n from public.stripe_events where id = any(${ids}) group by id`;
  const counts = new Map(rows.map((row) => [row.id, row.n]));
  const problems: string[] = [];
  for (const event of new Map(events.map((e) => [e.id, e])).values()) {
    const expected = APPLIED_TYPES.includes(event.type) ? 1 : 0;
    const found = counts.get(event.id) ?? 0;
    if (found !== expected) {
      problems.push(`${event.id} ${event.type}: ${found} ledger rows, expected ${expected}`);
    }
  }
  return problems;
}

/** The profile's billing columns against the subscription's state at Stripe, as text. */
export async function profileProblem(
  h: Harness,
  userId: string,
  subscriptionId: string,
): Promise<string | null> {
  const expected = expectedBilling(await h.stripe.subscriptions.retrieve(subscriptionId));
  const actual = await actualBilling(h, userId);
  try {
    assert.deepEqual(actual, expected);
    return null;
  } catch {
    const diff = Object.keys(expected).filter((key) =>
      JSON.stringify(actual[key as keyof Billing]) !==
        JSON.stringify(expected[key as keyof Billing])
    ).map((key) =>
      `${key}: profile ${JSON.stringify(actual[key as keyof Billing])}, Stripe ${
        JSON.stringify(expected[key as keyof Billing])
      }`
    );
    return `user ${userId} differs from ${subscriptionId}: ${diff.join("; ")}`;
  }
}
