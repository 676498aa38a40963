/**
 * The plan catalog, `public.billing_plans`: written by the sync's catalog step (one row per
 * allowed price, its product, features and trial) and by price and product events of allowed
 * prices, read by `anon` and `authenticated` for pricing pages.
 */
import assert from "node:assert/strict";
import { CATALOG, DEFAULT_PRICE_ID } from "../dev/stripe/mod.ts";
import type { Stripe } from "../supabase/functions/_shared/stripe.ts";
import { APPLIED_TYPES, ledgerCount } from "./_support/billing.ts";
import { eventsAbout } from "./_support/emulator.ts";
import {
  type FunctionHandlers,
  type HandlerSettings,
  handlersWith,
  type Harness,
  signedDelivery,
} from "./_support/harness.ts";
import { createPlan, planRows, type PlanTableRow, type TestPlan } from "./_support/plans.ts";
import { asCaller } from "./_support/roles.ts";
import { callSync, runPass, withFreshHarness } from "./_support/sync.ts";
import { eventOutcomes } from "./_support/webhook.ts";

/** A catalog test in an environment of its own: the table and a pass see the whole account. */
function catalogTest(name: string, fn: (h: Harness) => Promise<void>): void {
  Deno.test({
    name,
    sanitizeOps: false,
    sanitizeResources: false,
    fn: () => withFreshHarness(fn),
  });
}

/** A row without its `updated_at`, for comparisons. */
function withoutTime(row: PlanTableRow): Omit<PlanTableRow, "updated_at"> {
  const { updated_at: _updated, ...rest } = row;
  return rest;
}

const ALL_PLANS: HandlerSettings = {
  prices: Object.values(CATALOG.lookupKeys),
  trialDays: 14,
};

catalogTest(
  "a sync pass writes one row per allowed price: product, amounts, interval, features, trial, default",
  async (h) => {
    const { sync } = handlersWith(h, ALL_PLANS);
    await runPass(sync);
    const basic = { product_id: CATALOG.products.basic, name: "Basic" };
    const pro = { product_id: CATALOG.products.pro, name: "Pro" };
    const common = { currency: "usd", interval_count: 1, trial_days: 14, active: true };
    assert.deepEqual((await planRows(h)).map(withoutTime), [
      {
        price_id: CATALOG.prices.basicMonthly,
        lookup_key: "basic_monthly",
        ...basic,
        description: "For one person getting started",
        unit_amount: "500",
        interval: "month",
        features: ["projects"],
        is_default: false,
        ...common,
      },
      {
        price_id: CATALOG.prices.basicYearly,
        lookup_key: "basic_yearly",
        ...basic,
        description: "For one person getting started",
        unit_amount: "5000",
        interval: "year",
        features: ["projects"],
        is_default: false,
        ...common,
      },
      {
        price_id: CATALOG.prices.proMonthly,
        lookup_key: "pro_monthly",
        ...pro,
        description: "For teams that ship every day",
        unit_amount: "1000",
        interval: "month",
        features: ["api_access", "priority_support", "projects"],
        is_default: true,
        ...common,
      },
      {
        price_id: CATALOG.prices.proYearly,
        lookup_key: "pro_yearly",
        ...pro,
        description: "For teams that ship every day",
        unit_amount: "10000",
        interval: "year",
        features: ["api_access", "priority_support", "projects"],
        is_default: false,
        ...common,
      },
    ]);

    // A second pass with nothing changed at Stripe writes nothing.
    const before = await planRows(h);
    await runPass(sync);
    assert.deepEqual(await planRows(h), before);

    // A feature attached at Stripe (no event for it) reaches the catalog with the next pass.
    const feature = await h.stripe.entitlements.features.create({
      name: "Exports",
      lookup_key: "exports",
    });
    await h.stripe.products.createFeature(CATALOG.products.basic, {
      entitlement_feature: feature.id,
    });
    await runPass(sync);
    const rows = await planRows(h, [CATALOG.prices.basicMonthly]);
    assert.deepEqual(rows.map((row) => row.features), [["exports", "projects"]]);
  },
);

catalogTest("anon and authenticated read the catalog; neither writes it", async (h) => {
  await runPass(handlersWith(h, ALL_PLANS).sync);
  const user = await h.createUser();
  for (
    const caller of [{ role: "anon" } as const, { role: "authenticated", userId: user.id } as const]
  ) {
    const rows = await asCaller(
      h.sql,
      caller,
      (tx) =>
        tx<{ price_id: string }[]>`select price_id from public.billing_plans order by price_id`,
    );
    assert.equal(rows.length, 4, caller.role);
    await assert.rejects(
      () =>
        asCaller(
          h.sql,
          caller,
          (tx) =>
            tx`update public.billing_plans set unit_amount = 1 where price_id = ${DEFAULT_PRICE_ID}`,
        ),
      (error: { code?: string }) => error.code === "42501",
    );
  }
});

catalogTest("a check pass reads and writes no catalog", async (h) => {
  const { sync } = handlersWith(h, ALL_PLANS);
  const mark = h.emulator.requests().length;
  await runPass(sync, { check: true });
  assert.deepEqual(await planRows(h), []);
  const catalogCalls = h.emulator.requests().slice(mark).filter((request) =>
    request.path.startsWith("/v1/prices") || request.path.startsWith("/v1/products")
  );
  assert.deepEqual(catalogCalls, []);
});

/**
 * Pages of the lists a pass walks read since `mark`: events, subscriptions and the catalog's
 * (no price or product event is replayed here, so every catalog list is the catalog step's).
 * Re-reads of one object a page names (a subscription, a customer's entitlements) come on top.
 */
function listPagesSince(h: Harness, mark: number): number {
  const lists = [
    /^\/v1\/events$/,
    /^\/v1\/subscriptions$/,
    /^\/v1\/prices$/,
    /^\/v1\/products\/[^/]+\/features$/,
  ];
  return h.emulator.requests().slice(mark).filter((request) =>
    request.method === "GET" && lists.some((list) => list.test(request.path))
  ).length;
}

catalogTest(
  "the catalog step waits for a call with room for its pages: no call reads more than its budget",
  async (h) => {
    // One subscriber: the first call reads a page of events and one of subscriptions, and then
    // has 1 page left of 3, less than the catalog may need (6: its lookup keys and products).
    const user = await h.createUser();
    const response = await h.post(h.checkout, user.token);
    await response.body?.cancel();
    const session = h.emulator.checkoutSessions().find((s) => s.client_reference_id === user.id);
    assert.ok(session);
    h.emulator.completeCheckout(session.id);
    const { sync } = handlersWith(h, { ...ALL_PLANS, syncLimits: { maxPages: 3, pageSize: 100 } });
    const pages: number[] = [];
    const dones: boolean[] = [];
    while (dones.at(-1) !== true) {
      assert.ok(dones.length < 10, "the pass did not finish");
      const mark = h.emulator.requests().length;
      const answer = await callSync(sync);
      const report = await answer.json();
      assert.equal(answer.status, 200, JSON.stringify(report));
      pages.push(listPagesSince(h, mark));
      dones.push(report.done);
    }
    // Events and subscriptions, then the catalog alone: a list of lookup keys, two products.
    assert.deepEqual(pages, [2, 3]);
    assert.deepEqual(dones, [false, true]);
    assert.equal((await planRows(h)).length, 4);
  },
);

/** Events since `mark` about one of the ids, of the catalog's handled types. */
function catalogEvents(h: Harness, mark: number, ids: string[]): Stripe.Event[] {
  return eventsAbout(h, mark, ids).filter((event) =>
    (event.type.startsWith("price.") || event.type.startsWith("product.")) &&
    APPLIED_TYPES.includes(event.type)
  );
}

/** Delivers every event and returns each one's logged outcome. */
async function deliverEach(
  h: Harness,
  handlers: FunctionHandlers,
  events: readonly Stripe.Event[],
): Promise<unknown[]> {
  const outcomes: unknown[] = [];
  for (const event of events) {
    const response = await handlers.webhook(await signedDelivery(event));
    assert.equal(response.status, 200, await response.text());
    outcomes.push(eventOutcomes(h, event.id).at(-1));
  }
  return outcomes;
}

/** An allowed plan of its own, by lookup key, in the catalog after its price.created. */
async function allowedPlan(h: Harness): Promise<{ plan: TestPlan; handlers: FunctionHandlers }> {
  const mark = h.emulator.events().length;
  const plan = await createPlan(h, { name: "Team" });
  const handlers = handlersWith(h, { prices: [plan.lookupKey] });
  const outcomes = await deliverEach(h, handlers, catalogEvents(h, mark, [plan.price.id]));
  assert.deepEqual(outcomes, ["applied"]);
  assert.equal((await planRows(h, [plan.price.id])).length, 1);
  return { plan, handlers };
}

catalogTest("price and product events of an allowed price refresh its row", async (h) => {
  const { plan, handlers } = await allowedPlan(h);
  const row = () => planRows(h, [plan.price.id]).then((rows) => rows[0]);

  let mark = h.emulator.events().length;
  await h.stripe.products.update(plan.product.id, { name: "Team plus", description: "More" });
  assert.deepEqual(
    await deliverEach(h, handlers, catalogEvents(h, mark, [plan.product.id])),
    ["applied"],
  );
  assert.equal((await row())?.name, "Team plus");
  assert.equal((await row())?.description, "More");

  mark = h.emulator.events().length;
  await h.stripe.prices.update(plan.price.id, { active: false });
  const archived = catalogEvents(h, mark, [plan.price.id]);
  await deliverEach(h, handlers, archived);
  assert.equal((await row())?.active, false, "an archived price keeps its row, inactive");

  // Delivered again: a duplicate, and nothing changes.
  const before = await planRows(h);
  assert.deepEqual(await deliverEach(h, handlers, archived), ["duplicate"]);
  assert.deepEqual(await planRows(h), before);

  mark = h.emulator.events().length;
  await h.stripe.prices.update(plan.price.id, { active: true });
  await h.stripe.products.update(plan.product.id, { active: false });
  await deliverEach(h, handlers, catalogEvents(h, mark, [plan.price.id, plan.product.id]));
  assert.equal((await row())?.active, false, "a price of an archived product cannot be bought");
});

catalogTest(
  "a lookup key moved to a new price moves its row, in either order of events",
  async (h) => {
    for (const order of ["as sent", "reversed"]) {
      const { plan, handlers } = await allowedPlan(h);
      const mark = h.emulator.events().length;
      const moved = await h.stripe.prices.create({
        product: plan.product.id,
        currency: "usd",
        unit_amount: 2900,
        recurring: { interval: "year" },
        lookup_key: plan.lookupKey,
        transfer_lookup_key: true,
      });
      const events = catalogEvents(h, mark, [plan.price.id, moved.id]);
      assert.equal(events.length, 2);
      await deliverEach(h, handlers, order === "as sent" ? events : [...events].reverse());
      const rows = await planRows(h, [plan.price.id, moved.id]);
      assert.deepEqual(rows.map((r) => [r.price_id, r.lookup_key, r.interval]), [
        [moved.id, plan.lookupKey, "year"],
      ], order);
    }
  },
);

catalogTest("a deleted price allowed by id keeps its row, inactive", async (h) => {
  const plan = await createPlan(h);
  const handlers = handlersWith(h, { prices: [plan.price.id] });
  await runPass(handlers.sync);
  assert.equal((await planRows(h, [plan.price.id]))[0]?.active, true);
  const mark = h.emulator.events().length;
  h.emulator.deletePrice(plan.price.id);
  const [deleted] = catalogEvents(h, mark, [plan.price.id]);
  assert.equal(deleted?.type, "price.deleted");
  assert.deepEqual(await deliverEach(h, handlers, [deleted]), ["applied"]);
  const [row] = await planRows(h, [plan.price.id]);
  assert.equal(row?.active, false);
  assert.equal(row?.lookup_key, plan.lookupKey);
});

catalogTest(
  "events of prices and products no allowed plan uses are recorded and change nothing",
  async (h) => {
    const { handlers } = await allowedPlan(h);
    const before = await planRows(h);
    const mark = h.emulator.events().length;
    const other = await createPlan(h);
    await h.stripe.products.update(other.product.id, { name: "Elsewhere" });
    await h.stripe.prices.update(other.price.id, { active: false });
    const events = catalogEvents(h, mark, [other.price.id, other.product.id]);
    const types = events.map((event) => event.type);
    assert.ok(types.includes("product.updated") && types.includes("price.updated"), `${types}`);
    const reads = h.emulator.requests().length;
    const outcomes = await deliverEach(h, handlers, events);
    assert.ok(outcomes.every((outcome) => outcome === "skipped"), JSON.stringify(outcomes));
    for (const event of events) assert.equal(await ledgerCount(h, event.id), 1);
    assert.deepEqual(await planRows(h), before);
    assert.equal(h.emulator.requests().length, reads, "a skipped event read Stripe");
  },
);
