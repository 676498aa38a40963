import assert from "node:assert/strict";
import { DEFAULT_PRICE_ID } from "../../dev/stripe/mod.ts";
import { checkoutParams, control, rejects, Stripe, withEmulator } from "./support.ts";

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
