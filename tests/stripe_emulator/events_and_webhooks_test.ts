import assert from "node:assert/strict";
import { signPayload } from "../../dev/stripe/mod.ts";
import {
  control,
  receiver,
  rejects,
  SECRET_KEY,
  setup,
  Stripe,
  subscribed,
  verified,
  withEmulator,
} from "./support.ts";

Deno.test("events are Stripe event objects, also listed by the API", async () => {
  await withEmulator({}, async (running) => {
    await subscribed(running);
    const recorded = running.emulator.events();
    const last = recorded.at(-1);
    assert.ok(last);
    assert.match(last.id, /^evt_/);
    assert.equal(last.object, "event");
    assert.equal(last.api_version, "2026-10-28.endive");
    assert.equal(last.livemode, false);
    assert.equal(last.pending_webhooks, 0);
    assert.equal(last.type, "checkout.session.completed");

    const listed = await running.stripe.events.list({ type: "invoice.*", limit: 3 });
    assert.deepEqual(
      listed.data.map((event) => event.type),
      ["invoice.payment_succeeded", "invoice.paid", "invoice.finalized"],
    );
    assert.equal(listed.has_more, true);
    const fetched = await running.stripe.events.retrieve(last.id);
    assert.equal(fetched.type, "checkout.session.completed");

    const control = await fetch(`${running.url}/_emulator/events`, {
      headers: { Authorization: `Bearer ${SECRET_KEY}` },
    });
    assert.equal(control.status, 200);
    assert.equal((await control.json()).length, recorded.length);
  });
});

Deno.test("signPayload produces a header the SDK's verifier accepts", async () => {
  const payload = JSON.stringify({ id: "evt_1", object: "event", type: "customer.created" });
  const header = await signPayload(payload, "whsec_test", 1_700_000_000);
  assert.match(header, /^t=1700000000,v1=[0-9a-f]{64}$/);
  const stripe = new Stripe(SECRET_KEY);
  const event = await stripe.webhooks.constructEventAsync(
    payload,
    await signPayload(payload, "whsec_test"),
    "whsec_test",
    undefined,
    Stripe.createSubtleCryptoProvider(),
  );
  assert.equal(event.id, "evt_1");
});

Deno.test("events are delivered in order with signatures the SDK accepts", async () => {
  const hook = receiver();
  const running = await setup({ webhook: { url: hook.url, secret: "whsec_local" } });
  try {
    await subscribed(running);
    await running.emulator.deliveriesSettled();
    const types = running.emulator.events().map((event) => event.type);
    assert.equal(hook.received.length, types.length);
    const delivered: string[] = [];
    for (const delivery of hook.received) {
      assert.equal(delivery.headers.get("content-type"), "application/json; charset=utf-8");
      assert.equal(
        delivery.headers.get("user-agent"),
        "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
      );
      const event = await verified(delivery, "whsec_local");
      assert.equal(event.pending_webhooks, 1);
      delivered.push(event.type);
    }
    assert.deepEqual(delivered, types);
  } finally {
    await running.close();
    await hook.close();
  }
});

Deno.test("deliveries are signed with the wall clock when the emulator's clock is fixed", async () => {
  const hook = receiver();
  const running = await setup({
    webhook: { url: hook.url, secret: "whsec_local" },
    now: () => 1_600_000_000,
  });
  try {
    await running.stripe.customers.create({});
    await running.emulator.deliveriesSettled();
    const delivery = hook.received[0];
    assert.ok(delivery);
    const event = await verified(delivery, "whsec_local");
    assert.equal(event.created, 1_600_000_000);
  } finally {
    await running.close();
    await hook.close();
  }
});

Deno.test("a delivery answered 500 is retried until it succeeds", async () => {
  const hook = receiver([500]);
  const lines: string[] = [];
  const running = await setup({
    webhook: { url: hook.url, secret: "whsec_local" },
    webhookRetryDelaysMs: [10, 10, 10, 10],
    log: (line) => lines.push(line),
  });
  try {
    const customer = await running.stripe.customers.create({});
    await running.emulator.deliveriesSettled();
    assert.equal(hook.received.length, 2);
    assert.equal(hook.received[0]?.body, hook.received[1]?.body);
    assert.equal(JSON.parse(hook.received[1]?.body ?? "{}").data.object.id, customer.id);
    assert.deepEqual(running.emulator.deliveries().map((attempt) => attempt.status), [500, 200]);
    assert.equal(lines.length, 1);
    assert.match(lines[0] ?? "", /customer\.created .* attempt 1 failed: HTTP 500/);
  } finally {
    await running.close();
    await hook.close();
  }
});

Deno.test("a delivery that keeps failing gives up after five attempts", async () => {
  const hook = receiver([500, 500, 500, 500, 500, 500]);
  const running = await setup({
    webhook: { url: hook.url, secret: "whsec_local" },
    webhookRetryDelaysMs: [1, 1, 1, 1],
    log: () => {},
  });
  try {
    await running.stripe.customers.create({});
    await running.emulator.deliveriesSettled();
    assert.equal(hook.received.length, 5);
  } finally {
    await running.close();
    await hook.close();
  }
});

Deno.test("webhook endpoints are registered, listed, updated and deleted; the secret shows once", async () => {
  await withEmulator({}, async ({ stripe }) => {
    const created = await stripe.webhookEndpoints.create({
      url: "https://example.com/functions/v1/stripe-webhook",
      enabled_events: ["customer.subscription.updated", "invoice.paid"],
      description: "Production",
    });
    assert.match(created.id, /^we_/);
    assert.match(created.secret ?? "", /^whsec_\w{32}$/);
    assert.equal(created.status, "enabled");
    assert.equal(created.api_version, "2026-10-28.endive");
    const fetched = await stripe.webhookEndpoints.retrieve(created.id);
    assert.equal(fetched.secret, undefined);
    assert.deepEqual(fetched.enabled_events, ["customer.subscription.updated", "invoice.paid"]);

    const updated = await stripe.webhookEndpoints.update(created.id, {
      enabled_events: ["*"],
      disabled: true,
      url: "https://example.com/hook",
    });
    assert.equal(updated.status, "disabled");
    assert.deepEqual(updated.enabled_events, ["*"]);
    assert.equal(updated.url, "https://example.com/hook");
    assert.equal(updated.secret, undefined);

    const listed = await stripe.webhookEndpoints.list();
    assert.deepEqual(listed.data.map((endpoint) => endpoint.id), [created.id]);
    assert.ok(listed.data.every((endpoint) => endpoint.secret === undefined));

    const refused = await rejects(
      stripe.webhookEndpoints.create({
        url: "not a url",
        enabled_events: ["invoice.paid"],
      }),
      Stripe.errors.StripeInvalidRequestError,
    );
    assert.equal(refused.param, "url");

    const deleted = await stripe.webhookEndpoints.del(created.id);
    assert.deepEqual({ ...deleted }, { id: created.id, object: "webhook_endpoint", deleted: true });
    assert.equal((await stripe.webhookEndpoints.list()).data.length, 0);
  });
});

Deno.test("a registered endpoint receives the types it wants, signed with its own secret", async () => {
  const configured = receiver();
  const registered = receiver();
  const running = await setup({ webhook: { url: configured.url, secret: "whsec_local" } });
  try {
    const endpoint = await running.stripe.webhookEndpoints.create({
      url: registered.url,
      enabled_events: ["customer.created"],
    });
    await running.stripe.customers.create({ email: "ada@example.com" });
    await running.stripe.products.create({ name: "Not wanted" });
    await running.emulator.deliveriesSettled();
    assert.equal(registered.received.length, 1);
    const [delivery] = registered.received;
    assert.ok(delivery);
    const event = await verified(delivery, endpoint.secret ?? "");
    assert.equal(event.type, "customer.created");
    assert.equal(event.pending_webhooks, 2);
    await assert.rejects(verified(delivery, "whsec_local"));
    assert.equal(configured.received.length, 2);

    // Once every endpoint has it, the event is no longer pending.
    const listed = await running.stripe.events.retrieve(event.id);
    assert.equal(listed.pending_webhooks, 0);

    await running.stripe.webhookEndpoints.update(endpoint.id, { disabled: true });
    await running.stripe.customers.create({});
    await running.emulator.deliveriesSettled();
    assert.equal(registered.received.length, 1);
    const attempts = running.emulator.deliveries();
    assert.deepEqual(
      [...new Set(attempts.map((attempt) => attempt.endpoint))].sort(),
      [endpoint.id, null].sort(),
    );
  } finally {
    await running.close();
    await configured.close();
    await registered.close();
  }
});

Deno.test("during an outage events are made and listed but not delivered, and stay pending", async () => {
  const hook = receiver();
  const running = await setup({ webhook: { url: hook.url, secret: "whsec_local" } });
  try {
    const { stripe, emulator } = running;
    const before = await stripe.customers.create({});
    await emulator.deliveriesSettled();
    assert.equal(hook.received.length, 1);

    emulator.setOutage(true);
    assert.equal(emulator.outage, true);
    const during = await stripe.customers.create({});
    const [event] = (await stripe.events.list({ limit: 1 })).data;
    assert.equal((event?.data.object as Stripe.Customer).id, during.id);
    assert.equal(event?.pending_webhooks, 1);
    await emulator.deliveriesSettled();
    assert.equal(hook.received.length, 1);
    assert.deepEqual(
      emulator.deliveries().at(-1),
      {
        eventId: event?.id,
        eventType: "customer.created",
        endpoint: null,
        attempt: 0,
        status: null,
        error: "Dropped: webhook outage",
      },
    );
    const undelivered = await stripe.events.list({ delivery_success: false });
    assert.deepEqual(undelivered.data.map((entry) => entry.id), [event?.id]);
    const delivered = await stripe.events.list({ delivery_success: true });
    assert.ok(
      delivered.data.some((entry) => (entry.data.object as Stripe.Customer).id === before.id),
    );

    const ended = await control(running, "POST", "outage", { dropping: false });
    assert.deepEqual(ended.body, { dropping: false });
    await stripe.customers.create({});
    await emulator.deliveriesSettled();
    assert.equal(hook.received.length, 2);
    // What was dropped stays dropped: only a sync's replay can recover it.
    assert.equal((await stripe.events.retrieve(event?.id ?? "")).pending_webhooks, 1);
  } finally {
    await running.close();
    await hook.close();
  }
});
