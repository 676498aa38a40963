import assert from "node:assert/strict";
import { CATALOG, DEFAULT_PRICE_ID } from "../../dev/stripe/mod.ts";
import {
  checkoutParams,
  rejects,
  Stripe,
  subscribed,
  typesSince,
  withEmulator,
} from "./support.ts";

Deno.test("with nothing configured the catalog has Basic and Pro, monthly and yearly, with lookup keys", async () => {
  await withEmulator({}, async ({ stripe }) => {
    assert.equal(DEFAULT_PRICE_ID, CATALOG.prices.proMonthly);
    const expected = [
      [CATALOG.prices.basicMonthly, "basic_monthly", 500, "month", CATALOG.products.basic],
      [CATALOG.prices.basicYearly, "basic_yearly", 5000, "year", CATALOG.products.basic],
      [CATALOG.prices.proMonthly, "pro_monthly", 1000, "month", CATALOG.products.pro],
      [CATALOG.prices.proYearly, "pro_yearly", 10000, "year", CATALOG.products.pro],
    ] as const;
    for (const [id, lookupKey, amount, interval, product] of expected) {
      const price = await stripe.prices.retrieve(id);
      assert.equal(price.lookup_key, lookupKey);
      assert.equal(price.unit_amount, amount);
      assert.equal(price.recurring?.interval, interval);
      assert.equal(price.product, product);
      assert.equal(price.active, true);
    }
    const pro = await stripe.products.retrieve(CATALOG.products.pro);
    assert.equal(pro.name, "Pro");
    assert.equal(pro.default_price, CATALOG.prices.proMonthly);
    const features = await stripe.products.listFeatures(CATALOG.products.pro);
    assert.deepEqual(
      features.data.map((attached) => attached.entitlement_feature.lookup_key).sort(),
      ["api_access", "priority_support", "projects"],
    );
    const basic = await stripe.products.listFeatures(CATALOG.products.basic);
    assert.deepEqual(basic.data.map((attached) => attached.entitlement_feature.lookup_key), [
      "projects",
    ]);
    const [code] = (await stripe.promotionCodes.list({ code: "LOCAL20" })).data;
    assert.equal(code?.id, CATALOG.promotionCode.id);
    const coupon = await stripe.coupons.retrieve(CATALOG.coupon);
    assert.equal(coupon.percent_off, 20);
  });
});

Deno.test("a lookup key belongs to one price; transfer_lookup_key moves it", async () => {
  await withEmulator({}, async (running) => {
    const { stripe } = running;
    const taken = await rejects(
      stripe.prices.create({
        currency: "usd",
        unit_amount: 1200,
        recurring: { interval: "month" },
        product: CATALOG.products.pro,
        lookup_key: "pro_monthly",
      }),
      Stripe.errors.StripeInvalidRequestError,
    );
    assert.equal(taken.statusCode, 400);
    assert.equal(taken.param, "lookup_key");
    assert.equal(
      taken.message,
      `A price (\`${CATALOG.prices.proMonthly}\`) already uses that lookup key.`,
    );

    // An archived price still holds its key.
    await stripe.prices.update(CATALOG.prices.basicYearly, { active: false });
    await rejects(
      stripe.prices.update(CATALOG.prices.basicMonthly, { lookup_key: "basic_yearly" }),
      Stripe.errors.StripeInvalidRequestError,
    );

    const start = running.emulator.events().length;
    const moved = await stripe.prices.create({
      currency: "usd",
      unit_amount: 1200,
      recurring: { interval: "month" },
      product: CATALOG.products.pro,
      lookup_key: "pro_monthly",
      transfer_lookup_key: true,
    });
    assert.equal(moved.lookup_key, "pro_monthly");
    assert.equal((await stripe.prices.retrieve(CATALOG.prices.proMonthly)).lookup_key, null);
    assert.equal((await stripe.prices.retrieve(CATALOG.prices.proMonthly)).active, true);
    assert.deepEqual(typesSince(running, start), ["price.updated", "price.created"]);
    const [holder] = (await stripe.prices.list({ lookup_keys: ["pro_monthly"] })).data;
    assert.equal(holder?.id, moved.id);
  });
});

Deno.test("prices and products are updated and archived with their events", async () => {
  await withEmulator({}, async (running) => {
    const { stripe, emulator } = running;
    let start = emulator.events().length;
    const archived = await stripe.prices.update(CATALOG.prices.basicYearly, {
      active: false,
      nickname: "Old yearly",
      metadata: { tier: "basic" },
    });
    assert.equal(archived.active, false);
    assert.equal(archived.nickname, "Old yearly");
    const [priceEvent] = emulator.events().slice(start);
    assert.equal(priceEvent?.type, "price.updated");
    assert.deepEqual(priceEvent?.data.previous_attributes, {
      active: true,
      metadata: {},
      nickname: null,
    });

    start = emulator.events().length;
    const product = await stripe.products.update(CATALOG.products.basic, {
      name: "Starter",
      active: false,
    });
    assert.equal(product.name, "Starter");
    assert.equal(product.active, false);
    assert.deepEqual(typesSince(running, start), ["product.updated"]);

    start = emulator.events().length;
    const made = await stripe.products.create({ name: "Add-on", metadata: { kind: "extra" } });
    assert.match(made.id, /^prod_/);
    const deleted = await stripe.products.del(made.id);
    assert.deepEqual({ ...deleted }, { id: made.id, object: "product", deleted: true });
    assert.deepEqual(typesSince(running, start), ["product.created", "product.deleted"]);

    const inUse = await rejects(
      stripe.products.del(CATALOG.products.pro),
      Stripe.errors.StripeInvalidRequestError,
    );
    assert.match(inUse.message, /has one or more user-created prices/);
  });
});

Deno.test("a price never used can be deleted as in the Dashboard, with price.deleted", async () => {
  await withEmulator({}, async (running) => {
    const { stripe, emulator } = running;
    const price = await stripe.prices.create({
      currency: "usd",
      unit_amount: 300,
      product_data: { name: "Sticker" },
    });
    const start = emulator.events().length;
    emulator.deletePrice(price.id);
    assert.deepEqual(typesSince(running, start), ["price.deleted"]);
    await rejects(stripe.prices.retrieve(price.id), Stripe.errors.StripeInvalidRequestError);
    await subscribed(running);
    assert.throws(() => emulator.deletePrice(DEFAULT_PRICE_ID), /used by a subscription/);
  });
});

Deno.test("a one-time price cannot be bought in subscription mode", async () => {
  await withEmulator({}, async ({ stripe }) => {
    const oneTime = await stripe.prices.create({
      currency: "usd",
      unit_amount: 900,
      product: CATALOG.products.pro,
    });
    const customer = await stripe.customers.create({});
    const error = await rejects(
      stripe.checkout.sessions.create(checkoutParams(customer.id, "user-1", oneTime.id)),
      Stripe.errors.StripeInvalidRequestError,
    );
    assert.equal(error.statusCode, 400);
    assert.equal(
      error.message,
      "You must provide at least one recurring price in `subscription` mode when using prices.",
    );
    const yearly = await stripe.checkout.sessions.create(
      checkoutParams(customer.id, "user-1", CATALOG.prices.basicYearly),
    );
    assert.equal(yearly.amount_total, 5000);
  });
});
