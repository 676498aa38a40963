import assert from "node:assert/strict";
import { CATALOG } from "../../dev/stripe/mod.ts";
import { rejects, SECRET_KEY, Stripe, subscribed, withEmulator } from "./support.ts";

Deno.test("lists page newest first with limit, starting_after, ending_before and has_more", async () => {
  await withEmulator({}, async ({ stripe }) => {
    const made: string[] = [];
    for (let i = 0; i < 5; i++) made.push((await stripe.customers.create({})).id);
    const newest = [...made].reverse();

    const first = await stripe.customers.list({ limit: 2 });
    assert.equal(first.object, "list");
    assert.equal(first.url, "/v1/customers");
    assert.deepEqual(first.data.map((customer) => customer.id), newest.slice(0, 2));
    assert.equal(first.has_more, true);

    const second = await stripe.customers.list({ limit: 2, starting_after: newest[1] });
    assert.deepEqual(second.data.map((customer) => customer.id), newest.slice(2, 4));
    assert.equal(second.has_more, true);
    const last = await stripe.customers.list({ limit: 2, starting_after: newest[3] });
    assert.deepEqual(last.data.map((customer) => customer.id), newest.slice(4));
    assert.equal(last.has_more, false);

    const back = await stripe.customers.list({ limit: 2, ending_before: newest[4] });
    assert.deepEqual(back.data.map((customer) => customer.id), newest.slice(2, 4));
    assert.equal(back.has_more, true);

    assert.equal((await stripe.customers.list()).data.length, 5);
  });
});

Deno.test("a limit outside 1..100 and an unknown cursor are Stripe's invalid request errors", async () => {
  await withEmulator({}, async ({ stripe }) => {
    const bounds = [
      [0, "This value must be greater than or equal to 1."],
      [101, "This value must be less than or equal to 100."],
    ] as const;
    for (const [limit, message] of bounds) {
      const error = await rejects(
        stripe.customers.list({ limit }),
        Stripe.errors.StripeInvalidRequestError,
      );
      assert.equal(error.statusCode, 400);
      assert.equal(error.param, "limit");
      assert.equal(error.message, message);
    }
    const cursor = await rejects(
      stripe.customers.list({ starting_after: "cus_missing" }),
      Stripe.errors.StripeInvalidRequestError,
    );
    assert.equal(cursor.code, "resource_missing");
    assert.equal(cursor.param, "starting_after");
  });
});

Deno.test("objects made in the same second list in a stable order, the later first", async () => {
  await withEmulator({ now: () => 1_700_000_000 }, async ({ stripe }) => {
    const made: string[] = [];
    for (let i = 0; i < 7; i++) made.push((await stripe.customers.create({})).id);
    const pages: string[] = [];
    let after: string | undefined;
    do {
      const page = await stripe.customers.list({ limit: 3, starting_after: after });
      pages.push(...page.data.map((customer) => customer.id));
      after = page.has_more ? page.data.at(-1)?.id : undefined;
    } while (after);
    assert.deepEqual(pages, [...made].reverse());
  });
});

Deno.test("the SDK's auto-pagination walks every page of a list", async () => {
  await withEmulator({}, async ({ stripe, emulator }) => {
    const seeded = emulator.seed({ count: 23 });
    const listed: string[] = [];
    for await (const subscription of stripe.subscriptions.list({ limit: 5 })) {
      listed.push(subscription.id);
    }
    assert.deepEqual(listed, [...seeded.subscriptions].reverse());
    const all = await stripe.customers.list({ limit: 10 }).autoPagingToArray({ limit: 100 });
    assert.equal(all.length, 23);
  });
});

Deno.test("subscriptions list by status (canceled left out unless all), customer and price", async () => {
  await withEmulator({}, async (running) => {
    const { stripe, emulator } = running;
    const pro = await subscribed(running);
    const basic = await subscribed(running, { price: CATALOG.prices.basicMonthly });
    const gone = await subscribed(running);
    emulator.subscription(gone.subscription.id).cancelNow();

    const ids = (list: Stripe.ApiList<Stripe.Subscription>) => list.data.map((sub) => sub.id);
    assert.deepEqual(ids(await stripe.subscriptions.list()), [
      basic.subscription.id,
      pro.subscription.id,
    ]);
    assert.deepEqual(ids(await stripe.subscriptions.list({ status: "all" })), [
      gone.subscription.id,
      basic.subscription.id,
      pro.subscription.id,
    ]);
    assert.deepEqual(ids(await stripe.subscriptions.list({ status: "canceled" })), [
      gone.subscription.id,
    ]);
    assert.deepEqual(ids(await stripe.subscriptions.list({ customer: pro.customer.id })), [
      pro.subscription.id,
    ]);
    assert.deepEqual(
      ids(await stripe.subscriptions.list({ price: CATALOG.prices.basicMonthly })),
      [basic.subscription.id],
    );
    const bad = await rejects(
      stripe.subscriptions.list({ status: "gone" as "all" }),
      Stripe.errors.StripeInvalidRequestError,
    );
    assert.equal(bad.param, "status");
  });
});

Deno.test("a cursor keeps its place when its subscription no longer matches the filter", async () => {
  await withEmulator({}, async ({ stripe, emulator }) => {
    const { subscriptions } = emulator.seed({ count: 4 });
    const [oldest, , third, newest] = subscriptions;
    const page = await stripe.subscriptions.list({ limit: 1 });
    assert.deepEqual(page.data.map((sub) => sub.id), [newest]);
    emulator.subscription(newest ?? "").cancelNow();
    const next = await stripe.subscriptions.list({ limit: 1, starting_after: newest });
    assert.deepEqual(next.data.map((sub) => sub.id), [third]);
    const rest = await stripe.subscriptions.list({ limit: 5, starting_after: third });
    assert.equal(rest.data.at(-1)?.id, oldest);
  });
});

Deno.test("events list by type with a wildcard, by types, by creation time and by delivery", async () => {
  let clock = 1_700_000_000;
  await withEmulator({ now: () => clock }, async (running) => {
    const { stripe } = running;
    await subscribed(running);
    clock += 100;
    const later = await stripe.customers.create({});

    const subscriptionEvents = await stripe.events.list({ type: "customer.subscription.*" });
    assert.deepEqual(subscriptionEvents.data.map((event) => event.type), [
      "customer.subscription.created",
    ]);
    const created = await stripe.events.list({ type: "*.created", limit: 100 });
    assert.ok(created.data.every((event) => event.type.endsWith(".created")));
    assert.ok(created.data.some((event) => event.type === "invoice.created"));

    const types = await stripe.events.list({
      types: ["invoice.paid", "checkout.session.completed"],
    });
    assert.deepEqual(types.data.map((event) => event.type), [
      "checkout.session.completed",
      "invoice.paid",
    ]);
    const exclusive = await rejects(
      stripe.events.list({ type: "invoice.paid", types: ["invoice.paid"] }),
      Stripe.errors.StripeInvalidRequestError,
    );
    assert.equal(exclusive.code, "parameters_exclusive");

    const recent = await stripe.events.list({ created: { gte: clock } });
    assert.equal(recent.data.length, 1);
    assert.equal(recent.data[0]?.type, "customer.created");
    assert.equal((recent.data[0]?.data.object as Stripe.Customer).id, later.id);
    const before = await stripe.events.list({ created: { lt: clock }, limit: 100 });
    assert.ok(before.data.length > 5);
    assert.ok(before.data.every((event) => event.created < clock));
    const exact = await stripe.events.list({ created: clock });
    assert.equal(exact.data.length, 1);

    // No endpoint listens, so every event counts as delivered.
    assert.equal((await stripe.events.list({ delivery_success: false })).data.length, 0);
    assert.ok((await stripe.events.list({ delivery_success: true })).data.length > 0);
  });
});

Deno.test("prices list by lookup keys, active, product and type, with their products expanded", async () => {
  await withEmulator({}, async ({ stripe }) => {
    const byKey = await stripe.prices.list({
      lookup_keys: [CATALOG.lookupKeys.proMonthly, CATALOG.lookupKeys.basicYearly],
      expand: ["data.product"],
    });
    assert.deepEqual(byKey.data.map((price) => price.id).sort(), [
      CATALOG.prices.basicYearly,
      CATALOG.prices.proMonthly,
    ]);
    for (const price of byKey.data) {
      assert.equal(typeof price.product, "object");
      assert.equal((price.product as Stripe.Product).object, "product");
    }
    const oneTime = await stripe.prices.create({
      currency: "usd",
      unit_amount: 2500,
      product: CATALOG.products.pro,
    });
    assert.equal(oneTime.type, "one_time");
    assert.deepEqual(
      (await stripe.prices.list({ type: "one_time" })).data.map((price) => price.id),
      [oneTime.id],
    );
    const pro = await stripe.prices.list({ product: CATALOG.products.pro, type: "recurring" });
    assert.deepEqual(pro.data.map((price) => price.id).sort(), [
      CATALOG.prices.proMonthly,
      CATALOG.prices.proYearly,
    ]);
    await stripe.prices.update(CATALOG.prices.basicYearly, { active: false });
    const active = await stripe.prices.list({ active: true, limit: 100 });
    assert.ok(!active.data.some((price) => price.id === CATALOG.prices.basicYearly));
    const inactive = await stripe.prices.list({ active: false });
    assert.deepEqual(inactive.data.map((price) => price.id), [CATALOG.prices.basicYearly]);
  });
});

Deno.test("products and invoices list with their filters", async () => {
  await withEmulator({}, async (running) => {
    const { stripe } = running;
    const products = await stripe.products.list();
    assert.deepEqual(products.data.map((product) => product.name).sort(), ["Basic", "Pro"]);
    await stripe.products.update(CATALOG.products.basic, { active: false });
    assert.deepEqual(
      (await stripe.products.list({ active: true })).data.map((product) => product.id),
      [CATALOG.products.pro],
    );
    const { customer, subscription } = await subscribed(running);
    running.emulator.subscription(subscription.id).renew();
    const invoices = await stripe.invoices.list({ customer: customer.id });
    assert.equal(invoices.data.length, 2);
    assert.equal(invoices.data[0]?.billing_reason, "subscription_cycle");
    assert.equal(invoices.url, "/v1/invoices");
  });
});

Deno.test("a list answer is Stripe's envelope on the wire", async () => {
  await withEmulator({}, async ({ url }) => {
    const response = await fetch(`${url}/v1/prices?limit=1&lookup_keys[]=pro_monthly`, {
      headers: { Authorization: `Bearer ${SECRET_KEY}` },
    });
    assert.equal(response.status, 200);
    const body = await response.json();
    assert.deepEqual(Object.keys(body).sort(), ["data", "has_more", "object", "url"]);
    assert.equal(body.data[0].id, CATALOG.prices.proMonthly);
  });
});
