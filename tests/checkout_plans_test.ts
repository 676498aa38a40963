/**
 * Choosing a plan at checkout: `{"price": ...}` sells one of the allowed prices (ids or lookup
 * keys, STRIPE_PRICE_ID and STRIPE_PRICE_IDS), anything else is 400 "Unknown price" before any
 * Stripe write, and lookup keys resolve without a Stripe call per checkout.
 */
import assert from "node:assert/strict";
import { CATALOG, DEFAULT_PRICE_ID } from "../dev/stripe/mod.ts";
import { refreshCatalog } from "../supabase/functions/_shared/db_plans.ts";
import {
  type PlanSettings,
  planSettings,
  readCatalog,
} from "../supabase/functions/_shared/plans.ts";
import { sessionRequestsOf } from "./_support/emulator.ts";
import {
  type HandlerSettings,
  handlersWith,
  type Harness,
  harnessTest,
} from "./_support/harness.ts";
import { createPlan, jsonBody, stripeReadsSince, stripeWritesSince } from "./_support/plans.ts";
import { answerOf, assertAnswer } from "./_support/responses.ts";

const LOOKUP_KEYS = Object.values(CATALOG.lookupKeys);

/** The emulator's whole catalog by lookup key, and the yearly Basic price by id. */
const ALL_PLANS: HandlerSettings = {
  prices: [...LOOKUP_KEYS, CATALOG.prices.basicYearly],
};

/** The price of the user's last checkout session. */
function lastSessionPrice(h: Harness, userId: string): unknown {
  const request = sessionRequestsOf(h, userId).at(-1);
  assert.ok(request, "no session was created");
  const items = request.params.line_items as { price: string }[];
  assert.equal(items.length, 1);
  return items[0]?.price;
}

/** Writes the catalog table from Stripe for these settings, as a sync pass does. */
async function writeCatalog(h: Harness, settings: HandlerSettings): Promise<PlanSettings> {
  const plans = planSettings({
    stripePriceId: settings.priceId ?? DEFAULT_PRICE_ID,
    stripePriceIds: settings.prices ?? [],
    trialDays: settings.trialDays ?? null,
  });
  await refreshCatalog(h.database, () => readCatalog(h.stripe, plans));
  return plans;
}

harnessTest("stripe-checkout sells each allowed price, named by id or by lookup key", async (h) => {
  const { checkout } = handlersWith(h, ALL_PLANS);
  const user = await h.createUser();
  const cases: [unknown, string][] = [
    [CATALOG.lookupKeys.basicMonthly, CATALOG.prices.basicMonthly],
    [CATALOG.lookupKeys.basicYearly, CATALOG.prices.basicYearly],
    [CATALOG.lookupKeys.proMonthly, CATALOG.prices.proMonthly],
    [CATALOG.lookupKeys.proYearly, CATALOG.prices.proYearly],
    [CATALOG.prices.basicYearly, CATALOG.prices.basicYearly],
    // The id of a price allowed by its lookup key, as a pricing page built on the catalog sends.
    [CATALOG.prices.proYearly, CATALOG.prices.proYearly],
    [DEFAULT_PRICE_ID, DEFAULT_PRICE_ID],
    [null, DEFAULT_PRICE_ID],
  ];
  for (const [price, expected] of cases) {
    const response = await h.post(checkout, user.token, jsonBody({ price }));
    const body = await answerOf(response, 200);
    assert.equal(typeof body.url, "string", String(price));
    assert.equal(lastSessionPrice(h, user.id), expected, `price ${JSON.stringify(price)}`);
  }
});

harnessTest(
  "stripe-checkout answers 400 Unknown price for any other price, and writes nothing at Stripe",
  async (h) => {
    const { checkout } = handlersWith(h, ALL_PLANS);
    const another = await createPlan(h);
    const oneTime = await createPlan(h, { oneTime: true });
    const archived = await createPlan(h);
    await h.stripe.prices.update(archived.price.id, { active: false });
    const refused: unknown[] = [
      42,
      0,
      true,
      ["basic_monthly"],
      { id: CATALOG.prices.basicMonthly },
      { lookup_key: "basic_monthly" },
      "",
      "price_does_not_exist",
      "no_such_lookup_key",
      another.price.id,
      another.lookupKey,
      oneTime.price.id,
      oneTime.lookupKey,
      archived.price.id,
      archived.lookupKey,
      "BASIC_MONTHLY",
      " basic_monthly",
      "x".repeat(10_000),
    ];
    const user = await h.createUser();
    const mark = h.emulator.requests().length;
    for (const price of refused) {
      const response = await h.post(checkout, user.token, jsonBody({ price }));
      await assertAnswer(response, 400, { error: "Unknown price" });
    }
    assert.deepEqual(stripeWritesSince(h, mark), [], "a refused price wrote at Stripe");
    assert.equal((await h.profile(user.id)).stripe_customer_id, null);
  },
);

harnessTest(
  "stripe-checkout answers 400 Unknown price for an allowed price that cannot be bought",
  async (h) => {
    const oneTime = await createPlan(h, { oneTime: true });
    const archivedByKey = await createPlan(h);
    const archivedById = await createPlan(h);
    await h.stripe.prices.update(archivedByKey.price.id, { active: false });
    await h.stripe.prices.update(archivedById.price.id, { active: false });
    const settings = {
      prices: [oneTime.lookupKey, archivedByKey.lookupKey, archivedById.price.id],
    };
    const user = await h.createUser();
    // Before any sync (the catalog table has none of them) and after one.
    for (const when of ["before the catalog has them", "from the catalog"]) {
      if (when === "from the catalog") await writeCatalog(h, settings);
      const { checkout } = handlersWith(h, settings);
      const references = [oneTime.lookupKey, archivedByKey.lookupKey];
      if (when === "from the catalog") references.push(archivedById.price.id);
      const mark = h.emulator.requests().length;
      for (const price of references) {
        const response = await h.post(checkout, user.token, jsonBody({ price }));
        await assertAnswer(response, 400, { error: "Unknown price" });
      }
      assert.deepEqual(stripeWritesSince(h, mark), [], when);
    }
  },
);

harnessTest(
  "stripe-checkout resolves a lookup key at Stripe once per worker, and not at all once the catalog holds it",
  async (h) => {
    const plan = await createPlan(h);
    const settings = { prices: [plan.lookupKey] };
    const user = await h.createUser();

    // The catalog does not hold it yet: the first checkout resolves the allowed prices once.
    const { checkout } = handlersWith(h, settings);
    let mark = h.emulator.requests().length;
    for (let i = 0; i < 3; i++) {
      const response = await h.post(checkout, user.token, jsonBody({ price: plan.lookupKey }));
      await answerOf(response, 200);
      assert.equal(lastSessionPrice(h, user.id), plan.price.id);
    }
    assert.deepEqual(stripeReadsSince(h, mark, "/v1/prices"), ["GET /v1/prices"]);

    // With the catalog written, a new worker asks Stripe nothing about prices.
    await writeCatalog(h, settings);
    const fresh = handlersWith(h, settings).checkout;
    mark = h.emulator.requests().length;
    for (const price of [plan.lookupKey, plan.price.id]) {
      const response = await h.post(fresh, user.token, jsonBody({ price }));
      await answerOf(response, 200);
      assert.equal(lastSessionPrice(h, user.id), plan.price.id);
    }
    assert.deepEqual(stripeReadsSince(h, mark, "/v1/prices"), []);
  },
);

harnessTest(
  "stripe-checkout follows a lookup key moved to another price once the catalog has it",
  async (h) => {
    const plan = await createPlan(h);
    const settings = { prices: [plan.lookupKey] };
    await writeCatalog(h, settings);
    const moved = await h.stripe.prices.create({
      product: plan.product.id,
      currency: "usd",
      unit_amount: 2500,
      recurring: { interval: "month" },
      lookup_key: plan.lookupKey,
      transfer_lookup_key: true,
    });
    await writeCatalog(h, settings);
    const { checkout } = handlersWith(h, settings);
    const user = await h.createUser();
    await answerOf(await h.post(checkout, user.token, jsonBody({ price: plan.lookupKey })), 200);
    assert.equal(lastSessionPrice(h, user.id), moved.id);
    // The old price lost the key: it is no allowed price any more.
    const old = await h.post(checkout, user.token, jsonBody({ price: plan.price.id }));
    await assertAnswer(old, 400, { error: "Unknown price" });
  },
);

harnessTest("stripe-checkout takes a lookup key as STRIPE_PRICE_ID", async (h) => {
  const plan = await createPlan(h);
  const { checkout } = handlersWith(h, { priceId: plan.lookupKey });
  const user = await h.createUser();
  for (const init of [{}, jsonBody({}), jsonBody({ price: null }), { body: "not json" }]) {
    await answerOf(await h.post(checkout, user.token, init), 200);
    assert.equal(lastSessionPrice(h, user.id), plan.price.id);
  }
});

harnessTest(
  "stripe-checkout answers 500 when the default price cannot be bought, naming it in the log",
  async (h) => {
    const { checkout } = handlersWith(h, { priceId: "plan_nobody_has" });
    const user = await h.createUser();
    const logged = h.logs.length;
    const mark = h.emulator.requests().length;
    await assertAnswer(await h.post(checkout, user.token), 500, {
      error: "Internal server error",
    });
    assert.ok(h.logs.slice(logged).some((line) => line.includes("plan_nobody_has")));
    assert.deepEqual(stripeWritesSince(h, mark), []);
  },
);
