/**
 * `customer.deleted`: the profile ends without that customer whatever order the customer's
 * other events arrive in (status `canceled`, no subscription, no entitlements), the portal
 * answers 400 "No active subscription", the next checkout creates a new customer, and nothing
 * the deleted customer's late events say is written back.
 */
import assert from "node:assert/strict";
import type { Stripe } from "../supabase/functions/_shared/stripe.ts";
import { assertSynced, ledgerCount, subscribe } from "./_support/billing.ts";
import {
  customersOf,
  eventsAbout,
  sessionRequestsOf,
  syntheticEvent,
} from "./_support/emulator.ts";
import { handlersWith, type Harness, harnessTest, type TestUser } from "./_support/harness.ts";
import { mulberry32, shuffle } from "./_support/random.ts";
import { assertAnswer } from "./_support/responses.ts";
import { runPass, withFreshHarness } from "./_support/sync.ts";
import { deliverAll, deliverOk, eventOutcomes } from "./_support/webhook.ts";

/** A subscriber whose customer was then deleted at Stripe; none of the events delivered. */
interface Deleted {
  user: TestUser;
  customerId: string;
  subscriptionId: string;
  /** `customer.deleted`. */
  deletion: Stripe.Event;
  /** Every other event of the customer: checkout, subscription, invoices, entitlements. */
  others: Stripe.Event[];
}

async function subscribeThenDelete(h: Harness): Promise<Deleted> {
  const mark = h.emulator.events().length;
  const subscribed = await subscribe(h);
  const customerId = String(subscribed.subscription.customer);
  await h.stripe.customers.del(customerId);
  const events = eventsAbout(h, mark, [customerId, subscribed.subscription.id]);
  const deletion = events.find((event) => event.type === "customer.deleted");
  assert.ok(deletion, "no customer.deleted event");
  return {
    user: subscribed.user,
    customerId,
    subscriptionId: subscribed.subscription.id,
    deletion,
    others: events.filter((event) => event !== deletion),
  };
}

/** Asserts the profile is left without the customer, and the portal says so. */
async function assertEndedWithoutCustomer(h: Harness, deleted: Deleted, order: string) {
  const profile = await h.profile(deleted.user.id);
  assert.deepEqual(
    {
      customer: profile.stripe_customer_id,
      subscription: profile.stripe_subscription_id,
      status: profile.subscription_status,
      price: profile.price_id,
      entitlements: profile.entitlements,
    },
    { customer: null, subscription: null, status: "canceled", price: null, entitlements: [] },
    order,
  );
  await assertAnswer(await h.post(h.portal, deleted.user.token), 400, {
    error: "No active subscription",
  });
}

const ORDERS: [string, (d: Deleted) => Stripe.Event[][]][] = [
  ["before the others", (d) => [[d.deletion], ...d.others.map((e) => [e])]],
  ["after the others", (d) => [...d.others.map((e) => [e]), [d.deletion]]],
  ["between the others", (d) => {
    const half = Math.floor(d.others.length / 2);
    return [
      ...d.others.slice(0, half).map((e) => [e]),
      [d.deletion],
      ...d.others.slice(half).map((e) => [e]),
    ];
  }],
  [
    "shuffled and duplicated",
    (d) =>
      shuffle([...d.others, d.deletion, ...d.others, d.deletion], mulberry32(1201)).map((e) => [e]),
  ],
  ["all at once, twice", (d) => [[...d.others, d.deletion, ...d.others, d.deletion]]],
  ["reversed, the deletion twice at once", (d) => [
    ...[...d.others].reverse().map((e) => [e]),
    [d.deletion, d.deletion],
  ]],
];

for (const [order, plan] of ORDERS) {
  harnessTest(`customer.deleted leaves the profile without the customer: ${order}`, async (h) => {
    const deleted = await subscribeThenDelete(h);
    for (const group of plan(deleted)) {
      const answers = await Promise.all(group.map((event) => h.deliver(event)));
      for (const answer of answers) await assertAnswer(answer, 200, { received: true });
    }
    await assertEndedWithoutCustomer(h, deleted, order);
    assert.equal(await ledgerCount(h, deleted.deletion.id), 1);
    const [tombstone] = await h.sql<{ n: number }[]>`
      select count(*)::int as n from public.billing_deleted_customers
      where customer_id = ${deleted.customerId}`;
    assert.equal(tombstone?.n, 1);
  });
}

harnessTest(
  "after customer.deleted the next checkout creates a new customer, with no second trial, and late events of the old one change nothing",
  async (h) => {
    const deleted = await subscribeThenDelete(h);
    await deliverAll(h, [deleted.deletion, ...deleted.others]);
    await assertEndedWithoutCustomer(h, deleted, "deleted");

    const handlers = handlersWith(h, { trialDays: 7 });
    const response = await h.post(handlers.checkout, deleted.user.token);
    assert.equal(response.status, 200);
    await response.body?.cancel();
    const fresh = (await h.profile(deleted.user.id)).stripe_customer_id;
    assert.match(fresh ?? "", /^cus_/);
    assert.notEqual(fresh, deleted.customerId);
    assert.deepEqual(customersOf(h, deleted.user.id), [fresh]);
    const session = sessionRequestsOf(h, deleted.user.id).at(-1);
    assert.equal(session?.params.customer, fresh);
    assert.equal(
      (session?.params.subscription_data as Record<string, unknown>).trial_period_days,
      undefined,
      "a user who had a subscription got a second trial",
    );

    // The new subscription is the profile's; the deleted customer's events, again, change nothing.
    const second = await subscribe(h, {}, deleted.user);
    await deliverAll(h, second.events());
    await assertSynced(h, deleted.user.id, second.subscription.id);
    const before = await h.profile(deleted.user.id);
    await deliverAll(h, deleted.others);
    const late = syntheticEvent("customer.subscription.updated", {
      id: deleted.subscriptionId,
      object: "subscription",
      metadata: { userId: deleted.user.id },
    });
    await deliverOk(h, late);
    assert.deepEqual(eventOutcomes(h, String(late.id)), ["customer_deleted"]);
    assert.deepEqual(await h.profile(deleted.user.id), before);
  },
);

harnessTest(
  "customer.deleted of a customer no profile holds is recorded, and its later events write nothing",
  async (h) => {
    const customer = await h.stripe.customers.create({ email: "gone@example.com" });
    const mark = h.emulator.events().length;
    await h.stripe.customers.del(customer.id);
    const [deletion] = eventsAbout(h, mark, [customer.id]);
    assert.equal(deletion?.type, "customer.deleted");
    await deliverOk(h, deletion);
    assert.deepEqual(eventOutcomes(h, deletion.id), ["unmatched"]);
    const [row] = await h.sql<{ n: number }[]>`
      select count(*)::int as n from public.billing_deleted_customers
      where customer_id = ${customer.id}`;
    assert.equal(row?.n, 1);
  },
);

Deno.test({
  name:
    "a sync pass treats a deleted customer's subscriptions as no profile's: no drift, no repair, pass after pass",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: () =>
    withFreshHarness(async (h) => {
      const deleted = await subscribeThenDelete(h);
      await deliverAll(h, [...deleted.others, deleted.deletion]);
      await assertEndedWithoutCustomer(h, deleted, "delivered");
      for (const check of [true, false, true]) {
        const totals = await runPass(h.sync, { check });
        assert.equal(totals.subscriptionsChecked, 1);
        assert.equal(totals.profilesOutOfSync, 0, JSON.stringify(totals.drift));
        assert.equal(totals.profilesRepaired, 0);
        assert.deepEqual(totals.drift, []);
      }
      await assertEndedWithoutCustomer(h, deleted, "after the passes");
    }),
});

Deno.test({
  name: "a sync pass replays a missed customer.deleted, and the profile ends without the customer",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: () =>
    withFreshHarness(async (h) => {
      const deleted = await subscribeThenDelete(h);
      // Only the subscription's events arrived; the deletion never did.
      await deliverAll(h, deleted.others);
      const totals = await runPass(h.sync);
      assert.ok(totals.eventsReplayed >= 1);
      await assertEndedWithoutCustomer(h, deleted, "replayed");
      assert.equal(await ledgerCount(h, deleted.deletion.id), 1);
    }),
});
