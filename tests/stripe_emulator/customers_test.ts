import assert from "node:assert/strict";
import { rejects, setup, Stripe, subscribed, typesSince, withEmulator } from "./support.ts";

Deno.test("the emulator creates, retrieves, updates, lists and deletes customers", async () => {
  const { stripe, close } = await setup();
  try {
    const created = await stripe.customers.create({
      email: "ada@example.com",
      metadata: { userId: "user-1" },
    });
    assert.match(created.id, /^cus_/);
    assert.equal(created.object, "customer");
    assert.equal(created.email, "ada@example.com");
    assert.deepEqual(created.metadata, { userId: "user-1" });
    assert.equal(created.livemode, false);

    const fetched = await stripe.customers.retrieve(created.id);
    assert.equal(fetched.id, created.id);
    assert.equal(fetched.lastResponse.statusCode, 200);
    assert.match(fetched.lastResponse.requestId, /^req_/);

    const updated = await stripe.customers.update(created.id, { metadata: { plan: "pro" } });
    assert.deepEqual(updated.metadata, { userId: "user-1", plan: "pro" });

    const list = await stripe.customers.list({ email: "ada@example.com" });
    assert.equal(list.object, "list");
    assert.deepEqual(list.data.map((customer) => customer.id), [created.id]);
    assert.equal(list.has_more, false);

    const deleted = await stripe.customers.del(created.id);
    assert.deepEqual({ ...deleted }, { id: created.id, object: "customer", deleted: true });
    const afterDelete = await stripe.customers.retrieve(created.id);
    assert.equal(afterDelete.deleted, true);
  } finally {
    await close();
  }
});

Deno.test("a malformed email is refused with email_invalid naming the param", async () => {
  await withEmulator({}, async ({ stripe, emulator }) => {
    for (const email of ["ada", "ada@example", "ada @example.com", "<b>@example.com"]) {
      const error = await rejects(
        stripe.customers.create({ email }),
        Stripe.errors.StripeInvalidRequestError,
      );
      assert.equal(error.statusCode, 400);
      assert.equal(error.code, "email_invalid");
      assert.equal(error.param, "email");
      assert.equal(error.message, `Invalid email address: ${email}`);
    }
    const customer = await stripe.customers.create({ email: "ada+billing@mail.example.co.uk" });
    const update = await rejects(
      stripe.customers.update(customer.id, { email: "not-an-email" }),
      Stripe.errors.StripeInvalidRequestError,
    );
    assert.equal(update.code, "email_invalid");
    assert.equal(
      (await stripe.customers.retrieve(customer.id) as Stripe.Customer).email,
      customer.email,
    );
    assert.equal(emulator.customers().length, 1);
  });
});

Deno.test("metadata over Stripe's limits is refused and changes nothing", async () => {
  await withEmulator({}, async ({ stripe }) => {
    const longKey = "k".repeat(41);
    const key = await rejects(
      stripe.customers.create({ metadata: { [longKey]: "v" } }),
      Stripe.errors.StripeInvalidRequestError,
    );
    assert.equal(key.statusCode, 400);
    assert.equal(key.param, "metadata");
    assert.equal(
      key.message,
      `Metadata keys can have up to 40 characters, but you passed in a key that is 41 characters. Invalid key: ${longKey}`,
    );

    const value = await rejects(
      stripe.customers.create({ metadata: { note: "v".repeat(501) } }),
      Stripe.errors.StripeInvalidRequestError,
    );
    assert.equal(value.param, "metadata");
    assert.match(
      value.message,
      /^Metadata values can have up to 500 characters, but you passed in a value that is 501 characters\./,
    );

    // At the limits exactly: 50 keys, one of them 40 characters long with a 500-character value.
    const keys = Object.fromEntries(Array.from({ length: 49 }, (_, i) => [`key${i}`, "v"]));
    const full = await stripe.customers.create({
      metadata: { ...keys, ["k".repeat(40)]: "v".repeat(500) },
    });
    assert.equal(Object.keys(full.metadata).length, 50);
    const tooMany = await rejects(
      stripe.customers.update(full.id, { metadata: { one: "more" } }),
      Stripe.errors.StripeInvalidRequestError,
    );
    assert.equal(tooMany.param, "metadata");
    assert.match(tooMany.message, /^Metadata can have up to 50 keys, but you've set 51\./);
    const unchanged = await stripe.customers.retrieve(full.id) as Stripe.Customer;
    assert.equal(Object.keys(unchanged.metadata).length, 50);

    const swapped = await stripe.customers.update(full.id, {
      metadata: { key0: "", replacement: "v".repeat(500) },
    });
    assert.equal(Object.keys(swapped.metadata).length, 50);
    assert.equal(swapped.metadata.key0, undefined);
  });
});

Deno.test("deleting a customer cancels its subscriptions at once, then sends customer.deleted", async () => {
  await withEmulator({}, async (running) => {
    const { stripe, emulator } = running;
    const { customer, subscription } = await subscribed(running);
    const start = emulator.events().length;
    await stripe.customers.del(customer.id);
    assert.deepEqual(typesSince(running, start), [
      "customer.subscription.deleted",
      "entitlements.active_entitlement_summary.updated",
      "customer.deleted",
    ]);
    const canceled = await stripe.subscriptions.retrieve(subscription.id);
    assert.equal(canceled.status, "canceled");
    assert.ok(canceled.ended_at !== null);
    const [deletedEvent] = emulator.events().slice(-1);
    assert.equal((deletedEvent?.data.object as Stripe.Customer).email, "ada@example.com");
    const again = await rejects(
      stripe.customers.del(customer.id),
      Stripe.errors.StripeInvalidRequestError,
    );
    assert.equal(again.statusCode, 404);
    const update = await rejects(
      stripe.customers.update(customer.id, { email: "new@example.com" }),
      Stripe.errors.StripeInvalidRequestError,
    );
    assert.equal(update.code, "resource_missing");
  });
});

Deno.test("updating a customer changes its email and merges metadata, an empty value unsetting a key", async () => {
  await withEmulator({}, async ({ stripe, emulator }) => {
    const customer = await stripe.customers.create({
      email: "ada@example.com",
      metadata: { userId: "user-1", plan: "pro" },
    });
    const start = emulator.events().length;
    const updated = await stripe.customers.update(customer.id, {
      email: "ada.lovelace@example.com",
      metadata: { plan: "", deleted: "true" },
    });
    assert.equal(updated.email, "ada.lovelace@example.com");
    assert.deepEqual(updated.metadata, { userId: "user-1", deleted: "true" });
    const [event] = emulator.events().slice(start);
    assert.equal(event?.type, "customer.updated");
    assert.deepEqual(event?.data.previous_attributes, {
      email: "ada@example.com",
      metadata: { userId: "user-1", plan: "pro" },
    });
    const cleared = await stripe.customers.update(customer.id, { metadata: "" });
    assert.deepEqual(cleared.metadata, {});
  });
});

Deno.test("canceling a subscription accepts prorate and invoice_now, as Stripe does", async () => {
  await withEmulator({}, async (running) => {
    const { subscription } = await subscribed(running);
    const canceled = await running.stripe.subscriptions.cancel(subscription.id, {
      prorate: false,
      invoice_now: false,
    });
    assert.equal(canceled.status, "canceled");
    const twice = await rejects(
      running.stripe.subscriptions.cancel(subscription.id),
      Stripe.errors.StripeInvalidRequestError,
    );
    assert.equal(twice.statusCode, 400);
  });
});
