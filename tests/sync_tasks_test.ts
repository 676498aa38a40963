import assert from "node:assert/strict";
import { connectDatabase } from "../supabase/functions/_shared/db.ts";
import { subscribe } from "./_support/billing.ts";
import type { Harness, TestUser } from "./_support/harness.ts";
import { callSync, runPass, syncHandler, withFreshHarness } from "./_support/sync.ts";
import { startDatabaseProxy } from "./_support/tcp_proxy.ts";
import { deliverAll } from "./_support/webhook.ts";

/** A user who subscribed through checkout, every event delivered. */
async function subscribed(h: Harness): Promise<{ user: TestUser; subscriptionId: string }> {
  const { user, subscription, events } = await subscribe(h);
  await deliverAll(h, events());
  assert.equal((await h.profile(user.id)).subscription_status, "active");
  return { user, subscriptionId: subscription.id };
}

interface TaskRow {
  kind: string;
  customer_id: string;
  email: string | null;
  attempts: number;
  last_error: string | null;
  done: boolean;
}

async function tasksOf(h: Harness, userId: string): Promise<TaskRow[]> {
  return await h.sql<TaskRow[]>`
    select kind, customer_id, email, attempts, last_error, done_at is not null as done
    from public.billing_tasks where user_id = ${userId} order by id`;
}

function cancelRequests(h: Harness, subscriptionId: string) {
  return h.emulator.requests().filter((request) =>
    request.method === "DELETE" && request.path === `/v1/subscriptions/${subscriptionId}`
  );
}

/** How many `customer.subscription.deleted` events Stripe sent for the subscription. */
function deletionEvents(h: Harness, subscriptionId: string): number {
  return h.emulator.events().filter((event) =>
    event.type === "customer.subscription.deleted" &&
    (event.data.object as { id: string }).id === subscriptionId
  ).length;
}

Deno.test({
  name:
    "deleting a user cancels their subscription at Stripe at the next pass, at once and without proration, and marks the customer deleted",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: () =>
    withFreshHarness(async (h) => {
      const { user, subscriptionId } = await subscribed(h);
      const customerId = (await h.profile(user.id)).stripe_customer_id;
      assert.ok(customerId);
      await h.sql`delete from auth.users where id = ${user.id}`;
      assert.deepEqual(
        (await tasksOf(h, user.id)).map((t) => [t.kind, t.customer_id, t.done]),
        [["cancel_customer", customerId, false]],
      );

      const totals = await runPass(h.sync);
      assert.equal(totals.dones.at(-1), true);
      const subscription = await h.stripe.subscriptions.retrieve(subscriptionId);
      assert.equal(subscription.status, "canceled");
      const [cancel] = cancelRequests(h, subscriptionId);
      assert.ok(cancel);
      assert.deepEqual(cancel.params, { prorate: "false", invoice_now: "false" });
      assert.match(cancel.idempotencyKey ?? "", /^task:\d+:cancel:sub_/);
      const customer = await h.stripe.customers.retrieve(customerId);
      assert.ok(!customer.deleted);
      assert.equal(customer.metadata.deleted, "true");
      assert.deepEqual(
        (await tasksOf(h, user.id)).map((t) => [t.done, t.attempts, t.last_error]),
        [[true, 1, null]],
      );

      // The events of the cancellation find no profile: acknowledged, never a 500.
      for (
        const event of h.emulator.events().filter((e) => JSON.stringify(e).includes(subscriptionId))
      ) {
        const response = await h.deliver(event);
        assert.equal(response.status, 200);
        await response.body?.cancel();
      }
      const requests = h.emulator.requests().length;
      const again = await runPass(h.sync);
      assert.equal(again.profilesRepaired, 0);
      assert.ok(
        h.emulator.requests().slice(requests).every((request) => request.method === "GET"),
        "a second pass wrote to Stripe again",
      );
    }),
});

Deno.test({
  name:
    "a user task that fails stays with its error and attempt count, and a later pass completes it once",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: () =>
    withFreshHarness(async (h) => {
      const { user, subscriptionId } = await subscribed(h);
      await h.sql`delete from auth.users where id = ${user.id}`;
      h.emulator.failNext({
        method: "DELETE",
        path: `/v1/subscriptions/${subscriptionId}`,
        status: 500,
      });
      const response = await callSync(h.sync);
      assert.equal(response.status, 200);
      const report = await response.json();
      assert.equal(report.tasksFailed, 1);
      assert.equal(report.tasksDone, 0);
      const [failed] = await tasksOf(h, user.id);
      assert.equal(failed?.done, false);
      assert.equal(failed?.attempts, 1);
      assert.match(failed?.last_error ?? "", /^StripeAPIError: /);
      assert.notEqual((await h.stripe.subscriptions.retrieve(subscriptionId)).status, "canceled");

      const totals = await runPass(h.sync);
      assert.equal(totals.dones.at(-1), true);
      const [completed] = await tasksOf(h, user.id);
      assert.equal(completed?.done, true);
      assert.equal(completed?.attempts, 2);
      assert.equal((await h.stripe.subscriptions.retrieve(subscriptionId)).status, "canceled");
      assert.equal(deletionEvents(h, subscriptionId), 1);
    }),
});

Deno.test({
  name:
    "a task whose completion was not recorded runs again with the same idempotency keys, so Stripe acts once",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: () =>
    withFreshHarness(async (h) => {
      const { user, subscriptionId } = await subscribed(h);
      await h.sql`delete from auth.users where id = ${user.id}`;
      const proxy = startDatabaseProxy(h.databaseUrl);
      const db = connectDatabase(proxy.urlFor(h.databaseUrl), { max: 2 });
      const sync = syncHandler(h, { db });
      try {
        proxy.dropWhenClientSends("update public.billing_tasks set");
        const failed = await callSync(sync);
        assert.equal(failed.status, 500);
        await failed.body?.cancel();
        assert.equal((await h.stripe.subscriptions.retrieve(subscriptionId)).status, "canceled");
        assert.equal((await tasksOf(h, user.id))[0]?.done, false);
        proxy.dropWhenClientSends(null);
        await runPass(sync);
      } finally {
        await db.end({ timeoutMs: 1000 });
        await proxy.close();
      }
      assert.equal((await tasksOf(h, user.id))[0]?.done, true);
      // The retry found the subscription canceled already and asked only for the customer's
      // mark again, with the first attempt's key.
      assert.equal(cancelRequests(h, subscriptionId).length, 1);
      const customerId = h.emulator.subscriptions().find((s) => s.id === subscriptionId)?.customer;
      const marks = h.emulator.requests().filter((request) =>
        request.method === "POST" && request.path === `/v1/customers/${customerId}`
      );
      assert.equal(marks.length, 2);
      assert.equal(marks[0]?.idempotencyKey, marks[1]?.idempotencyKey);
      assert.equal(deletionEvents(h, subscriptionId), 1);
    }),
});

Deno.test({
  name: "an email changed in Supabase Auth reaches the Stripe customer, the newest change last",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: () =>
    withFreshHarness(async (h) => {
      const { user } = await subscribed(h);
      const customerId = (await h.profile(user.id)).stripe_customer_id;
      assert.ok(customerId);
      await h.sql`update auth.users set email = 'first-change@example.com' where id = ${user.id}`;
      await h.sql`update auth.users set email = 'second-change@example.com' where id = ${user.id}`;
      assert.deepEqual((await tasksOf(h, user.id)).map((t) => t.email), [
        "first-change@example.com",
        "second-change@example.com",
      ]);
      await runPass(h.sync);
      const customer = await h.stripe.customers.retrieve(customerId);
      assert.ok(!customer.deleted);
      assert.equal(customer.email, "second-change@example.com");
      assert.deepEqual((await tasksOf(h, user.id)).map((t) => t.done), [true, true]);
      const updates = h.emulator.requests().filter((request) =>
        request.method === "POST" && request.path === `/v1/customers/${customerId}`
      );
      assert.deepEqual(updates.map((request) => request.params.email), [
        "second-change@example.com",
      ]);
    }),
});

Deno.test({
  name: "check mode runs no user task",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: () =>
    withFreshHarness(async (h) => {
      const { user, subscriptionId } = await subscribed(h);
      await h.sql`delete from auth.users where id = ${user.id}`;
      const totals = await runPass(h.sync, { check: true });
      assert.equal(totals.dones.at(-1), true);
      assert.equal((await tasksOf(h, user.id))[0]?.attempts, 0);
      assert.equal((await h.stripe.subscriptions.retrieve(subscriptionId)).status, "active");
    }),
});
