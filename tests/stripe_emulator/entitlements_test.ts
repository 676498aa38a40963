import assert from "node:assert/strict";
import { CATALOG, GRANTING_STATUSES } from "../../dev/stripe/mod.ts";
import { rejects, type Setup, Stripe, subscribed, withEmulator } from "./support.ts";

/** The lookup keys of a customer's active entitlements, through the API. */
async function entitled(stripe: Stripe, customer: string): Promise<string[]> {
  const list = await stripe.entitlements.activeEntitlements.list({ customer, limit: 100 });
  return list.data.map((entitlement) => entitlement.lookup_key).sort();
}

/** The summaries sent since `start`, as lookup keys per event. */
function summariesSince(running: Setup, start: number, customer: string): string[][] {
  return running.emulator.events().slice(start)
    .filter((event) => event.type === "entitlements.active_entitlement_summary.updated")
    .map((event) => event.data.object as Stripe.Entitlements.ActiveEntitlementSummary)
    .filter((summary) => summary.customer === customer)
    .map((summary) => summary.entitlements.data.map((entry) => entry.lookup_key).sort());
}

Deno.test("features are created with a unique lookup key, listed, retrieved and archived", async () => {
  await withEmulator({}, async ({ stripe }) => {
    const feature = await stripe.entitlements.features.create({
      name: "Exports",
      lookup_key: "exports",
      metadata: { area: "data" },
    });
    assert.match(feature.id, /^feat_/);
    assert.equal(feature.object, "entitlements.feature");
    assert.equal(feature.active, true);
    assert.equal(feature.livemode, false);

    const duplicate = await rejects(
      stripe.entitlements.features.create({ name: "Again", lookup_key: "exports" }),
      Stripe.errors.StripeInvalidRequestError,
    );
    assert.equal(duplicate.param, "lookup_key");

    const found = await stripe.entitlements.features.list({ lookup_key: "exports" });
    assert.deepEqual(found.data.map((entry) => entry.id), [feature.id]);
    assert.equal((await stripe.entitlements.features.retrieve(feature.id)).name, "Exports");

    const archived = await stripe.entitlements.features.update(feature.id, { active: false });
    assert.equal(archived.active, false);
    assert.equal(
      (await stripe.entitlements.features.list({ lookup_key: "exports" })).data.length,
      0,
    );
    const listed = await stripe.entitlements.features.list({ archived: true });
    assert.deepEqual(listed.data.map((entry) => entry.id), [feature.id]);
    const refused = await rejects(
      stripe.products.createFeature(CATALOG.products.pro, { entitlement_feature: feature.id }),
      Stripe.errors.StripeInvalidRequestError,
    );
    assert.equal(refused.param, "entitlement_feature");
  });
});

Deno.test("features attach to products, list, and detach", async () => {
  await withEmulator({}, async ({ stripe }) => {
    const feature = await stripe.entitlements.features.create({
      name: "Audit log",
      lookup_key: "audit_log",
    });
    const attached = await stripe.products.createFeature(CATALOG.products.basic, {
      entitlement_feature: feature.id,
    });
    assert.equal(attached.object, "product_feature");
    assert.equal(attached.entitlement_feature.id, feature.id);
    const again = await rejects(
      stripe.products.createFeature(CATALOG.products.basic, { entitlement_feature: feature.id }),
      Stripe.errors.StripeInvalidRequestError,
    );
    assert.equal(again.statusCode, 400);
    const list = await stripe.products.listFeatures(CATALOG.products.basic);
    assert.deepEqual(list.data.map((entry) => entry.entitlement_feature.lookup_key).sort(), [
      "audit_log",
      "projects",
    ]);
    const fetched = await stripe.products.retrieveFeature(CATALOG.products.basic, attached.id);
    assert.equal(fetched.id, attached.id);
    const detached = await stripe.products.deleteFeature(CATALOG.products.basic, attached.id);
    assert.deepEqual({ ...detached }, {
      id: attached.id,
      object: "product_feature",
      deleted: true,
    });
    await rejects(
      stripe.products.retrieveFeature(CATALOG.products.basic, attached.id),
      Stripe.errors.StripeInvalidRequestError,
    );
  });
});

Deno.test("a subscriber's active entitlements are the features of its plan, with a summary event", async () => {
  await withEmulator({}, async (running) => {
    const { stripe, emulator } = running;
    const start = emulator.events().length;
    const { customer, subscription } = await subscribed(running);
    assert.deepEqual(await entitled(stripe, customer.id), [
      "api_access",
      "priority_support",
      "projects",
    ]);
    const events = emulator.events().slice(start);
    const summary = events.find((event) =>
      event.type === "entitlements.active_entitlement_summary.updated"
    );
    assert.ok(summary);
    const object = summary.data.object as Stripe.Entitlements.ActiveEntitlementSummary;
    assert.equal(object.object, "entitlements.active_entitlement_summary");
    assert.equal(object.customer, customer.id);
    assert.equal(object.livemode, false);
    assert.equal(object.entitlements.object, "list");
    assert.deepEqual(summariesSince(running, start, customer.id), [[
      "api_access",
      "priority_support",
      "projects",
    ]]);

    const [first] = (await stripe.entitlements.activeEntitlements.list({ customer: customer.id }))
      .data;
    assert.ok(first);
    assert.match(first.id, /^ent_/);
    const fetched = await stripe.entitlements.activeEntitlements.retrieve(first.id, {
      expand: ["feature"],
    });
    assert.equal((fetched.feature as Stripe.Entitlements.Feature).lookup_key, first.lookup_key);

    // A plan change re-grants; the summary says only what changed the set.
    let mark = emulator.events().length;
    emulator.subscription(subscription.id).changePrice(CATALOG.prices.basicMonthly);
    assert.deepEqual(await entitled(stripe, customer.id), ["projects"]);
    assert.deepEqual(summariesSince(running, mark, customer.id), [["projects"]]);

    mark = emulator.events().length;
    emulator.subscription(subscription.id).changePrice(CATALOG.prices.basicYearly);
    assert.deepEqual(summariesSince(running, mark, customer.id), []);

    mark = emulator.events().length;
    emulator.subscription(subscription.id).cancelNow();
    assert.deepEqual(await entitled(stripe, customer.id), []);
    assert.deepEqual(summariesSince(running, mark, customer.id), [[]]);
  });
});

Deno.test("active, trialing and past_due subscriptions grant entitlements; paused and canceled do not", async () => {
  assert.deepEqual(GRANTING_STATUSES, ["active", "trialing", "past_due"]);
  await withEmulator({}, async (running) => {
    const { stripe, emulator } = running;
    const { customer, subscription } = await subscribed(running, {
      trialDays: 7,
      price: CATALOG.prices.basicMonthly,
    });
    assert.equal(subscription.status, "trialing");
    assert.deepEqual(await entitled(stripe, customer.id), ["projects"]);
    const control = emulator.subscription(subscription.id);
    control.endTrial();
    control.failNextPayment();
    assert.equal(control.renew().status, "past_due");
    assert.deepEqual(await entitled(stripe, customer.id), ["projects"]);
    const mark = emulator.events().length;
    control.payOpenInvoice();
    assert.deepEqual(summariesSince(running, mark, customer.id), []);
    control.pause();
    assert.deepEqual(await entitled(stripe, customer.id), []);
    control.resume();
    assert.deepEqual(await entitled(stripe, customer.id), ["projects"]);
  });
});

Deno.test("a feature attached to a product reaches existing subscribers at their next period", async () => {
  await withEmulator({}, async (running) => {
    const { stripe, emulator } = running;
    const { customer, subscription } = await subscribed(running, {
      price: CATALOG.prices.basicMonthly,
    });
    const feature = await stripe.entitlements.features.create({
      name: "Audit log",
      lookup_key: "audit_log",
    });
    const attached = await stripe.products.createFeature(CATALOG.products.basic, {
      entitlement_feature: feature.id,
    });
    // Stripe: existing subscriptions get product feature changes at the next billing period.
    assert.deepEqual(await entitled(stripe, customer.id), ["projects"]);
    const newcomer = await subscribed(running, { price: CATALOG.prices.basicMonthly });
    assert.deepEqual(await entitled(stripe, newcomer.customer.id), ["audit_log", "projects"]);

    let mark = emulator.events().length;
    emulator.subscription(subscription.id).renew();
    assert.deepEqual(await entitled(stripe, customer.id), ["audit_log", "projects"]);
    assert.deepEqual(summariesSince(running, mark, customer.id), [["audit_log", "projects"]]);

    await stripe.products.deleteFeature(CATALOG.products.basic, attached.id);
    assert.deepEqual(await entitled(stripe, customer.id), ["audit_log", "projects"]);
    mark = emulator.events().length;
    emulator.subscription(subscription.id).renew();
    assert.deepEqual(await entitled(stripe, customer.id), ["projects"]);
    assert.deepEqual(summariesSince(running, mark, customer.id), [["projects"]]);
  });
});

Deno.test("active entitlements need a customer, and an unknown one is missing", async () => {
  await withEmulator({}, async ({ url, stripe }) => {
    const response = await fetch(`${url}/v1/entitlements/active_entitlements`, {
      headers: { Authorization: "Bearer sk_test_emulator" },
    });
    assert.equal(response.status, 400);
    assert.equal((await response.json()).error.param, "customer");
    const missing = await rejects(
      stripe.entitlements.activeEntitlements.list({ customer: "cus_missing" }),
      Stripe.errors.StripeInvalidRequestError,
    );
    assert.equal(missing.code, "resource_missing");
    const customer = await stripe.customers.create({});
    assert.deepEqual(await entitled(stripe, customer.id), []);
  });
});
