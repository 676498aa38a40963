import assert from "node:assert/strict";
import { CATALOG, startStripeEmulator } from "../../dev/stripe/mod.ts";
import { clientFor, control, SECRET_KEY, subscribed } from "./support.ts";

Deno.test("the state file keeps the account between runs: objects, events, endpoints, entitlements, clock", async () => {
  const dir = await Deno.makeTempDir();
  const stateFile = `${dir}/stripe.json`;
  try {
    const first = await startStripeEmulator({ secretKey: SECRET_KEY, stateFile });
    let subscriptionId: string;
    let customerId: string;
    let endpointId: string;
    try {
      const running = { ...first, stripe: clientFor(first, SECRET_KEY) };
      const { customer, subscription } = await subscribed(running);
      subscriptionId = subscription.id;
      customerId = customer.id;
      endpointId = (await running.stripe.webhookEndpoints.create({
        url: "http://127.0.0.1:9/hook",
        enabled_events: ["invoice.paid"],
      })).id;
      await running.stripe.prices.update(CATALOG.prices.basicYearly, { active: false });
      // A control route is a request, and writes the file like the API's.
      assert.equal((await control(first, "POST", "clock/advance", { seconds: 3600 })).status, 200);
    } finally {
      await first.close();
    }
    assert.equal(((await Deno.stat(stateFile)).mode ?? 0) & 0o777, 0o600);

    const second = await startStripeEmulator({ secretKey: SECRET_KEY, stateFile });
    try {
      const stripe = clientFor(second, SECRET_KEY);
      assert.equal((await stripe.subscriptions.retrieve(subscriptionId)).status, "active");
      assert.equal(
        (await stripe.webhookEndpoints.retrieve(endpointId)).url,
        "http://127.0.0.1:9/hook",
      );
      assert.equal((await stripe.prices.retrieve(CATALOG.prices.basicYearly)).active, false);
      const entitled = await stripe.entitlements.activeEntitlements.list({ customer: customerId });
      assert.equal(entitled.data.length, 3);
      assert.ok(second.emulator.events().length > 5);
      assert.ok(second.emulator.now() >= Math.floor(Date.now() / 1000) + 3500);
    } finally {
      await second.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a state file from before entitlements still grants its subscribers their features", async () => {
  const dir = await Deno.makeTempDir();
  const stateFile = `${dir}/stripe.json`;
  try {
    const first = await startStripeEmulator({ secretKey: SECRET_KEY, stateFile });
    let customerId: string;
    try {
      const running = { ...first, stripe: clientFor(first, SECRET_KEY) };
      customerId = (await subscribed(running)).customer.id;
      // The checkout was completed by a method call, not a request: it is saved explicitly.
      await first.emulator.save();
    } finally {
      await first.close();
    }
    const saved = JSON.parse(await Deno.readTextFile(stateFile));
    for (const key of ["features", "productFeatures", "grantedFeatures", "activeEntitlements"]) {
      delete saved[key];
    }
    await Deno.writeTextFile(stateFile, JSON.stringify(saved));

    const second = await startStripeEmulator({ secretKey: SECRET_KEY, stateFile });
    try {
      const stripe = clientFor(second, SECRET_KEY);
      const entitled = await stripe.entitlements.activeEntitlements.list({ customer: customerId });
      assert.deepEqual(entitled.data.map((entry) => entry.lookup_key).sort(), [
        "api_access",
        "priority_support",
        "projects",
      ]);
    } finally {
      await second.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
