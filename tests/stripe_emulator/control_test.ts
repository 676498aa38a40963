import assert from "node:assert/strict";
import { CATALOG, DEFAULT_PRICE_ID } from "../../dev/stripe/mod.ts";
import { checkoutParams, control, rejects, Stripe, subscribed, withEmulator } from "./support.ts";

Deno.test("control routes work over HTTP", async () => {
  await withEmulator({}, async (running) => {
    const { stripe } = running;
    const customer = await stripe.customers.create({});
    const session = await stripe.checkout.sessions.create(checkoutParams(customer.id));
    const completed = await control(
      running,
      "POST",
      `checkout/sessions/${session.id}/complete`,
      {},
    );
    assert.equal(completed.status, 200);
    const subscription = completed.body as Stripe.Subscription;
    assert.equal(subscription.status, "active");

    const failed = await control(running, "POST", `subscriptions/${subscription.id}/renew`, {
      fail: true,
    });
    assert.equal(failed.status, 200);
    assert.equal((failed.body as Stripe.Subscription).status, "past_due");

    const paid = await control(
      running,
      "POST",
      `subscriptions/${subscription.id}/pay-open-invoice`,
    );
    assert.equal((paid.body as Stripe.Subscription).status, "active");

    const cancel = await control(
      running,
      "POST",
      `subscriptions/${subscription.id}/cancel-at-period-end`,
      { enabled: true },
    );
    assert.equal((cancel.body as Stripe.Subscription).cancel_at_period_end, true);

    const unknown = await control(running, "POST", `subscriptions/${subscription.id}/explode`);
    assert.equal(unknown.status, 404);

    const fault = await control(running, "POST", "faults", { path: "/v1/customers", status: 500 });
    assert.equal(fault.status, 200);
    assert.deepEqual(fault.body, { faults: 1 });
    await rejects(stripe.customers.create({}), Stripe.errors.StripeAPIError);

    const reset = await control(running, "POST", "reset");
    assert.equal(reset.status, 200);
    assert.equal(running.emulator.events().length, 0);
    assert.equal((await stripe.prices.retrieve(DEFAULT_PRICE_ID)).id, DEFAULT_PRICE_ID);
  });
});

Deno.test("control routes answer only the holder of the secret key", async () => {
  await withEmulator({}, async (running) => {
    const attempts: Record<string, string>[] = [{}, { Authorization: "Bearer sk_test_other" }];
    for (const headers of attempts) {
      const response = await fetch(`${running.url}/_emulator/reset`, { method: "POST", headers });
      assert.equal(response.status, 401);
      assert.equal(typeof (await response.json()).error, "string");
    }
    // A cross-origin page can only send a simple request: no Authorization, so no effect.
    const simple = await fetch(`${running.url}/_emulator/faults`, {
      method: "POST",
      headers: { "Content-Type": "text/plain" },
      body: JSON.stringify({ status: 500 }),
    });
    assert.equal(simple.status, 401);
    await simple.body?.cancel();
    assert.equal(running.emulator.pendingFaults, 0);
  });
});

Deno.test("a control body that is not a JSON object is refused", async () => {
  await withEmulator({}, async (running) => {
    const response = await fetch(`${running.url}/_emulator/faults`, {
      method: "POST",
      headers: { Authorization: "Bearer sk_test_emulator" },
      body: "[1, 2]",
    });
    assert.equal(response.status, 400);
    assert.deepEqual(await response.json(), { error: "Expected a JSON object" });
  });
});

Deno.test("a hand edit changes a subscription at Stripe without any event", async () => {
  await withEmulator({}, async (running) => {
    const { stripe, emulator } = running;
    const { customer, subscription } = await subscribed(running);
    const start = emulator.events().length;
    const edited = emulator.handEdit(subscription.id, {
      price: CATALOG.prices.basicYearly,
      cancelAtPeriodEnd: true,
      metadata: { note: "edited by hand" },
    });
    assert.equal(edited.items.data[0]?.price.id, CATALOG.prices.basicYearly);
    const fetched = await stripe.subscriptions.retrieve(subscription.id);
    assert.equal(fetched.cancel_at_period_end, true);
    assert.deepEqual(fetched.metadata, { userId: "user-1", note: "edited by hand" });
    // What the customer may use follows, silently.
    const entitlements = await stripe.entitlements.activeEntitlements.list({
      customer: customer.id,
    });
    assert.deepEqual(entitlements.data.map((entry) => entry.lookup_key), ["projects"]);

    const overHttp = await control(running, "POST", `subscriptions/${subscription.id}/edit`, {
      status: "past_due",
    });
    assert.equal(overHttp.status, 200);
    assert.equal((await stripe.subscriptions.retrieve(subscription.id)).status, "past_due");
    assert.equal(emulator.events().length, start);

    const wrong = await control(running, "POST", `subscriptions/${subscription.id}/edit`, {
      cancelAt: "tomorrow",
    });
    assert.equal(wrong.status, 400);
    assert.deepEqual(wrong.body, {
      error: `Expected "cancelAt" to be a timestamp in seconds or null`,
    });
  });
});

Deno.test("seeding makes many customers with subscriptions, silently unless asked", async () => {
  await withEmulator({}, async (running) => {
    const { stripe, emulator } = running;
    const seeded = emulator.seed({ count: 2_000 });
    assert.equal(seeded.customers.length, 2_000);
    assert.equal(new Set(seeded.subscriptions).size, 2_000);
    assert.equal(emulator.events().length, 0);
    const [first] = (await stripe.subscriptions.list({ limit: 1 })).data;
    assert.equal(first?.id, seeded.subscriptions.at(-1));
    assert.equal(first?.status, "active");
    assert.equal(first?.items.data[0]?.price.id, CATALOG.prices.proMonthly);
    const entitlements = await stripe.entitlements.activeEntitlements.list({
      customer: String(first?.customer),
    });
    assert.equal(entitlements.data.length, 3);

    const loud = await control(running, "POST", "seed", {
      customers: [
        {
          email: "one@example.com",
          metadata: { userId: "u1" },
          subscriptionMetadata: { userId: "u1" },
        },
        {
          email: "two@example.com",
          status: "trialing",
          trialDays: 3,
          price: CATALOG.prices.basicMonthly,
        },
      ],
      events: true,
    });
    assert.equal(loud.status, 200);
    const result = loud.body as { customers: string[]; subscriptions: string[] };
    assert.deepEqual(
      emulator.events().map((event) => event.type).filter((type) =>
        !type.startsWith("entitlements.")
      ),
      [
        "customer.created",
        "customer.subscription.created",
        "customer.created",
        "customer.subscription.created",
      ],
    );
    const [one, two] = result.subscriptions;
    assert.deepEqual((await stripe.subscriptions.retrieve(one ?? "")).metadata, { userId: "u1" });
    assert.equal((await stripe.subscriptions.retrieve(two ?? "")).status, "trialing");

    const refused = await control(running, "POST", "seed", { count: 2, price: "price_nope" });
    assert.equal(refused.status, 400);
    assert.equal(emulator.customers().length, 2_002);
  });
});

Deno.test("reset forgets the clock's advance and ends an outage", async () => {
  await withEmulator({ now: () => 1_700_000_000 }, async (running) => {
    running.emulator.advanceClock(86_400);
    running.emulator.setOutage(true);
    const reset = await control(running, "POST", "reset");
    assert.equal(reset.status, 200);
    assert.equal(running.emulator.now(), 1_700_000_000);
    assert.equal(running.emulator.outage, false);
    assert.deepEqual((await control(running, "GET", "outage")).body, { dropping: false });
  });
});
