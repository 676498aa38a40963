/**
 * Seeded, reproducible subscription histories for property tests: a generator of valid action
 * sequences (a pure function of a seed), and a runner that plays one against the Stripe emulator
 * (the true state) and returns the events it produced, the customer's entitlement summaries
 * among them.
 */
import assert from "node:assert/strict";
import { CATALOG, DEFAULT_PRICE_ID } from "../../dev/stripe/mod.ts";
import type { Stripe } from "../../supabase/functions/_shared/stripe.ts";
import { idOf } from "../../supabase/functions/_shared/subscription.ts";
import type { Harness, TestUser } from "./harness.ts";
import { pick, randomInt, type Rng } from "./random.ts";

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

/**
 * The plan a change moves to: Basic, monthly, whose product grants fewer features than the
 * default plan's (Pro), so that every plan change changes the customer's entitlements too.
 */
const SECOND_PRICE = CATALOG.prices.basicMonthly;

/** The emulator's event count, a marker for {@link eventsSince}. */
function eventMark(h: Harness): number {
  return h.emulator.state.events.length;
}

/** Whose events a history collects: its subscription, session and customer. */
interface HistoryObjects {
  subscriptionId: string;
  sessionId: string;
  customerId: string;
}

/**
 * Events after `mark` whose object is the subscription, one of its invoices, the session, or
 * the customer's entitlement summary. Reads the emulator's list in place: copying every event
 * of a long run per history is slow.
 */
function eventsSince(h: Harness, mark: number, objects: HistoryObjects): Stripe.Event[] {
  const { subscriptionId, sessionId, customerId } = objects;
  const found = h.emulator.state.events.slice(mark).filter((event) => {
    const object = event.data.object as { id?: unknown; object?: unknown; customer?: unknown };
    if (object.id === subscriptionId || object.id === sessionId) return true;
    if (object.object === "entitlements.active_entitlement_summary") {
      return object.customer === customerId;
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
  const customerId = idOf(subscription.customer);
  assert.ok(customerId, `subscription ${subscription.id} has no customer`);
  const objects = { subscriptionId: subscription.id, sessionId: session.id, customerId };
  const log = [describeOp(start)];
  let stepMark = mark;
  const stepDone = async () => {
    if (afterStep === undefined) return;
    const events = eventsSince(h, stepMark, objects);
    stepMark = eventMark(h);
    await afterStep(events, log.at(-1) ?? "");
  };
  await stepDone();
  for (const op of actions) {
    try {
      run(h, control, subscription.id, op);
      log.push(describeOp(op));
    } catch (error) {
      // The emulator refused (its state differs from the model's); the refusal is deterministic.
      if (!(error instanceof Error)) throw error;
      log.push(`!${describeOp(op)}`);
    }
    await stepDone();
  }
  return {
    user,
    ops: [...ops],
    log,
    sessionId: session.id,
    subscriptionId: subscription.id,
    customerId,
    events: eventsSince(h, mark, objects),
  };
}

const DAY = 24 * 60 * 60;

function run(
  h: Harness,
  control: ReturnType<Harness["emulator"]["subscription"]>,
  subscriptionId: string,
  op: Op,
): void {
  switch (op.op) {
    case "start":
      throw new Error("A history starts once");
    case "renew":
      control.renew({ fail: op.fail === true });
      return;
    case "changePrice":
      control.changePrice(op.to === "second" ? SECOND_PRICE : DEFAULT_PRICE_ID);
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
