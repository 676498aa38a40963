/** The rules of allowed plans and the catalog's rows, as pure functions. */
import assert from "node:assert/strict";
import {
  catalogPageBound,
  isAllowedPrice,
  planSettings,
  priceFacts,
  toPlanRow,
} from "../supabase/functions/_shared/plans.ts";
import type { Stripe } from "../supabase/functions/_shared/stripe.ts";

const SETTINGS = planSettings({
  stripePriceId: "pro_monthly",
  stripePriceIds: ["basic_monthly", "price_basicYearly", "pro_monthly"],
  trialDays: 14,
});

function price(fields: Record<string, unknown>): Stripe.Price {
  return {
    id: "price_1",
    object: "price",
    active: true,
    currency: "usd",
    lookup_key: null,
    unit_amount: 1000,
    recurring: { interval: "month", interval_count: 1 },
    product: {
      id: "prod_1",
      object: "product",
      active: true,
      name: "Pro",
      description: "For teams",
    },
    ...fields,
  } as unknown as Stripe.Price;
}

Deno.test("planSettings puts the default first and names each price once", () => {
  assert.deepEqual(SETTINGS, {
    defaultPrice: "pro_monthly",
    prices: ["pro_monthly", "basic_monthly", "price_basicYearly"],
    trialDays: 14,
  });
});

Deno.test("a price is allowed by its id or by its lookup key, and by nothing else", () => {
  assert.ok(isAllowedPrice(SETTINGS, { id: "price_basicYearly", lookupKey: null }));
  assert.ok(isAllowedPrice(SETTINGS, { id: "price_x", lookupKey: "basic_monthly" }));
  assert.ok(!isAllowedPrice(SETTINGS, { id: "price_x", lookupKey: "basic_yearly" }));
  assert.ok(!isAllowedPrice(SETTINGS, { id: "price_x", lookupKey: null }));
});

Deno.test("toPlanRow maps a recurring price, its product and features, with the trial", () => {
  assert.deepEqual(
    toPlanRow(price({ lookup_key: "pro_monthly" }), ["api_access", "projects"], SETTINGS),
    {
      price_id: "price_1",
      lookup_key: "pro_monthly",
      product_id: "prod_1",
      name: "Pro",
      description: "For teams",
      unit_amount: 1000,
      currency: "usd",
      interval: "month",
      interval_count: 1,
      trial_days: 14,
      features: ["api_access", "projects"],
      is_default: true,
      active: true,
    },
  );
});

Deno.test("toPlanRow gives no trial to a one-time price and marks an archived product inactive", () => {
  const oneTime = toPlanRow(price({ recurring: null }), [], SETTINGS);
  assert.equal(oneTime.trial_days, null);
  assert.equal(oneTime.interval, null);
  assert.equal(oneTime.is_default, false);
  const archived = price({
    product: { id: "prod_2", object: "product", active: false, name: "Old", description: null },
  });
  assert.equal(toPlanRow(archived, [], SETTINGS).active, false);
  assert.deepEqual(priceFacts(archived), {
    id: "price_1",
    lookupKey: null,
    active: false,
    recurring: true,
  });
  assert.equal(priceFacts(price({ active: false })).active, false);
});

Deno.test("a catalog read takes at most a page per 10 lookup keys and a page per product", () => {
  assert.equal(catalogPageBound(SETTINGS), 1 + 3);
  const many = planSettings({
    stripePriceId: "price_a",
    stripePriceIds: Array.from({ length: 11 }, (_, i) => `key_${i}`),
    trialDays: null,
  });
  assert.equal(catalogPageBound(many), 2 + 12);
});
