/**
 * Property tests of the webhook's ordering rule: whatever order, duplication or concurrency a
 * subscription's events arrive in, the profile ends equal to the subscription at Stripe, and its
 * entitlements equal the customer's at Stripe (histories change plans, and deliver the
 * customer's entitlement summaries among the rest). Each history is generated from a seed
 * (HISTORY_SEED sets the base) and played on the emulator.
 */
import assert from "node:assert/strict";
import type { Stripe } from "../supabase/functions/_shared/stripe.ts";
import { entitlementsProblem, ledgerProblems, profileProblem } from "./_support/billing.ts";
import {
  copies,
  deliverPlan,
  type DeliveryMode,
  type DeliveryPlan,
  describePlan,
  planDeliveries,
  type PlanStats,
  planStats,
} from "./_support/delivery.ts";
import { type Harness, harnessTest } from "./_support/harness.ts";
import {
  applyHistory,
  generateHistory,
  type HistoryOptions,
  type PlayedHistory,
} from "./_support/history.ts";
import { mulberry32, randomInt, type Rng, seedFrom, shuffle } from "./_support/random.ts";
import { sleep } from "./_support/time.ts";

const BASE_SEED = seedFrom("HISTORY_SEED", 20261124);
/** Single-subscription histories per delivery mode. */
const HISTORIES_PER_MODE = 80;
/** Scenarios of several users whose events arrive mixed together, and users per scenario. */
const MIXED_SCENARIOS = 6;
const USERS_PER_MIXED = 4;
/** Histories whose events are delivered while they are played. */
const LIVE_HISTORIES = 40;
/** Users who cancel and subscribe again. */
const RESUBSCRIBERS = 8;
/** Histories played and delivered at once (each its own user). */
const PARALLEL = 4;

const SINGLE: HistoryOptions = { minActions: 3, maxActions: 12 };

/** What one test delivered, printed when it ends. */
interface Tally extends PlanStats {
  histories: number;
}

function tally(): Tally {
  return { histories: 0, events: 0, deliveries: 0, duplicates: 0, bursts: 0 };
}

// ---- delivering -------------------------------------------------------------------------------

/** Histories played on the emulator, then delivered together by one plan. */
interface Scenario {
  label: string;
  histories: { seed: number; played: PlayedHistory }[];
  plan: DeliveryPlan;
  /** For each user, the subscription whose state the profile must end in. */
  expected: { userId: string; subscriptionId: string }[];
  /** Problems of deliveries made before (while the history was played); the plan is then done. */
  delivered?: string[];
  /** What happened between deliveries, parallel to `plan` (the step after which each ran). */
  steps?: string[];
}

/**
 * Delivers a scenario and checks every answer, every profile against Stripe and the ledger.
 * Throws with everything needed to replay it: seeds, histories and the delivery order.
 */
async function deliverAndCheck(h: Harness, scenario: Scenario, counts: Tally): Promise<void> {
  const events = scenario.histories.flatMap(({ played }) => played.events);
  const problems = scenario.delivered ?? await deliverPlan(h, scenario.plan);
  for (const { userId, subscriptionId } of scenario.expected) {
    const mismatch = await profileProblem(h, userId, subscriptionId);
    if (mismatch) problems.push(mismatch);
  }
  const customers = new Map(
    scenario.histories.map(({ played }) => [played.user.id, played.customerId]),
  );
  for (const [userId, customerId] of customers) {
    const mismatch = await entitlementsProblem(h, userId, customerId);
    if (mismatch) problems.push(mismatch);
  }
  problems.push(...await ledgerProblems(h, events));
  const stats = planStats(scenario.plan);
  counts.histories += scenario.histories.length;
  counts.events += stats.events;
  counts.deliveries += stats.deliveries;
  counts.duplicates += stats.duplicates;
  counts.bursts += stats.bursts;
  if (problems.length === 0) return;
  const lines = [`${scenario.label} (HISTORY_SEED=${BASE_SEED})`];
  for (const { seed, played } of scenario.histories) {
    lines.push(
      `  seed ${seed}, user ${played.user.id}, ${played.subscriptionId}: ${played.log.join(" ")}`,
    );
  }
  const { steps } = scenario;
  const delivery = steps === undefined
    ? describePlan(scenario.plan, events)
    : scenario.plan.map((group, i) => `${steps[i]}: ${describePlan([group], events)}`).join(" | ");
  lines.push(`  delivery: ${delivery}`, ...problems.map((p) => `  ${p}`));
  throw new Error(lines.join("\n"));
}

/**
 * Runs `task` for 0..n-1, `PARALLEL` at a time, then asserts that none failed (showing the first
 * failures in full) and prints what was delivered.
 */
async function runAll(
  name: string,
  n: number,
  task: (index: number, counts: Tally) => Promise<void>,
): Promise<void> {
  const counts = tally();
  const failures: string[] = [];
  let next = 0;
  const worker = async () => {
    while (next < n) {
      const index = next++;
      try {
        await task(index, counts);
      } catch (error) {
        failures.push(error instanceof Error ? error.message : String(error));
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(PARALLEL, n) }, worker));
  console.log(
    `${name}: ${counts.histories} histories, ${counts.events} events, ` +
      `${counts.deliveries} deliveries (${counts.duplicates} duplicates, ` +
      `${counts.bursts} concurrent bursts)`,
  );
  assert.equal(
    failures.length,
    0,
    `${failures.length} of ${n} failed:\n${failures.slice(0, 5).join("\n\n")}`,
  );
}

// ---- single subscriptions ---------------------------------------------------------------------

const MODES: readonly { mode: DeliveryMode; words: string }[] = [
  { mode: "shuffled", words: "shuffled" },
  { mode: "duplicated", words: "shuffled with each event 1 to 3 times" },
  { mode: "bursts", words: "shuffled, duplicated and in concurrent bursts" },
];

for (const [m, { mode, words }] of MODES.entries()) {
  harnessTest(
    `stripe-webhook ends at Stripe's state for ${HISTORIES_PER_MODE} random histories delivered ${words}`,
    (h) =>
      runAll(mode, HISTORIES_PER_MODE, async (i, counts) => {
        const seed = (BASE_SEED + m * 100_000 + i) >>> 0;
        const rng = mulberry32(seed);
        const played = await applyHistory(h, await h.createUser(), generateHistory(rng, SINGLE));
        await deliverAndCheck(h, {
          label: `history delivered ${mode}`,
          histories: [{ seed, played }],
          plan: planDeliveries(played.events, rng, mode),
          expected: [{ userId: played.user.id, subscriptionId: played.subscriptionId }],
        }, counts);
      }),
  );
}

harnessTest(
  `stripe-webhook ends at Stripe's state for ${LIVE_HISTORIES} random histories whose events arrive while the subscription still changes`,
  (h) =>
    runAll("live", LIVE_HISTORIES, async (i, counts) => {
      const seed = (BASE_SEED + 500_000 + i) >>> 0;
      const rng = mulberry32(seed);
      const ops = generateHistory(rng, SINGLE);
      const plan: DeliveryPlan = [];
      const steps: string[] = [];
      const inFlight: Promise<string[]>[] = [];
      let held: Stripe.Event[] = [];
      const send = (group: Stripe.Event[], step: string) => {
        plan.push(group);
        steps.push(step);
        inFlight.push(deliverPlan(h, [group]));
      };
      const played = await applyHistory(h, await h.createUser(), ops, async (events, step) => {
        // Some of what happened so far goes out now, at once and some twice; the rest is late.
        held = shuffle([...held, ...events], rng);
        const now = held.splice(0, randomInt(rng, 0, held.length));
        if (now.length > 0) send(withCopies(now, rng), `after ${step}`);
        // Let those deliveries get part of the way (reading Stripe) before the next change.
        if (rng() < 0.5) await sleep(randomInt(rng, 0, 3));
      });
      const early = (await Promise.all(inFlight)).flat();
      const late = shuffle([...held, ...played.events.filter(() => rng() < 0.3)], rng);
      const tail = planDeliveries(late, rng, "bursts").map((group) => {
        plan.push(group);
        steps.push("late");
        return group;
      });
      await deliverAndCheck(h, {
        label: "history delivered while it happened",
        histories: [{ seed, played }],
        plan,
        steps,
        delivered: [...early, ...await deliverPlan(h, tail)],
        expected: [{ userId: played.user.id, subscriptionId: played.subscriptionId }],
      }, counts);
    }),
);

/** Each event 1 to 3 times, shuffled. */
function withCopies(events: readonly Stripe.Event[], rng: Rng): Stripe.Event[] {
  return shuffle(copies(events, rng), rng);
}

// ---- several subscriptions --------------------------------------------------------------------

harnessTest(
  `stripe-webhook ends at each user's state for ${MIXED_SCENARIOS} scenarios of ${USERS_PER_MIXED} users whose events arrive mixed`,
  (h) =>
    runAll("mixed", MIXED_SCENARIOS, async (scenario, counts) => {
      const seed = (BASE_SEED + 300_000 + scenario) >>> 0;
      const rng = mulberry32(seed);
      const histories: { seed: number; played: PlayedHistory }[] = [];
      for (let u = 0; u < USERS_PER_MIXED; u++) {
        const ops = generateHistory(rng, SINGLE);
        histories.push({ seed, played: await applyHistory(h, await h.createUser(), ops) });
      }
      const events = histories.flatMap(({ played }) => played.events);
      await deliverAndCheck(h, {
        label: `mixed scenario ${scenario}`,
        histories,
        plan: planDeliveries(events, rng, "bursts"),
        expected: histories.map(({ played }) => ({
          userId: played.user.id,
          subscriptionId: played.subscriptionId,
        })),
      }, counts);
    }),
);

/** Waits until the emulator's clock (whole seconds) has passed `seconds`. */
async function afterSecond(seconds: number): Promise<void> {
  while (Math.floor(Date.now() / 1000) <= seconds) {
    await sleep(1000 - (Date.now() % 1000) + 5);
  }
}

harnessTest(
  `stripe-webhook keeps the live or newest of two subscriptions for ${RESUBSCRIBERS} users who cancel and subscribe again`,
  (h) =>
    runAll("resubscribers", RESUBSCRIBERS, async (index, counts) => {
      const seed = (BASE_SEED + 400_000 + index) >>> 0;
      const rng = mulberry32(seed);
      const user = await h.createUser();
      const firstOps = generateHistory(rng, { ...SINGLE, endCanceled: true });
      const first = await applyHistory(h, user, firstOps);
      const firstState = await h.stripe.subscriptions.retrieve(first.subscriptionId);
      assert.equal(firstState.status, "canceled");
      // A later second, so that "newest" is decided by Stripe's created timestamps.
      await afterSecond(firstState.created);
      // Nothing was delivered yet, so checkout does not know of the first subscription.
      const secondOps = generateHistory(rng, { ...SINGLE, cancelChance: 0.15 });
      const second = await applyHistory(h, user, secondOps);
      const events = [...first.events, ...second.events];
      // The second is live, or both ended and the second is newer: either way it is the one.
      await deliverAndCheck(h, {
        label: `resubscriber ${index}`,
        histories: [{ seed, played: first }, { seed, played: second }],
        plan: planDeliveries(events, rng, "bursts"),
        expected: [{ userId: user.id, subscriptionId: second.subscriptionId }],
      }, counts);
    }),
);

// Two ended subscriptions of one user created in the same second: `created` cannot tell which is
// newer, so the profile settles on the greater id (in byte order), whichever order events come in.
harnessTest(
  "stripe-webhook settles two ended subscriptions created in the same second on the same one in either order",
  async (h) => {
    for (const order of ["newer first", "older first"] as const) {
      const user = await h.createUser();
      // Both checkouts in one second: start just after a second begins.
      await afterSecond(Math.floor(Date.now() / 1000));
      const ended = [{ op: "start", trialDays: 0 }, { op: "cancelNow" }] as const;
      const older = await applyHistory(h, user, ended);
      const newer = await applyHistory(h, user, ended);
      const [a, b] = await Promise.all(
        [older, newer].map((played) => h.stripe.subscriptions.retrieve(played.subscriptionId)),
      );
      assert.equal(a?.created, b?.created, "not created in the same second; run again");
      const events = order === "newer first"
        ? [...newer.events, ...older.events]
        : [...older.events, ...newer.events];
      for (const event of events) {
        const response = await h.deliver(event);
        assert.equal(response.status, 200);
        await response.body?.cancel();
      }
      const expected = older.subscriptionId > newer.subscriptionId ? older : newer;
      assert.equal(await profileProblem(h, user.id, expected.subscriptionId), null, order);
    }
  },
);
