/**
 * Entitlements: `entitlements.active_entitlement_summary.updated` puts the customer's active
 * entitlements, re-read from Stripe (every page), on the profile, exactly once and in order, and
 * `public.has_entitlement` answers from them under RLS.
 */
import assert from "node:assert/strict";
import { CATALOG } from "../dev/stripe/mod.ts";
import type { Stripe } from "../supabase/functions/_shared/stripe.ts";
import {
  entitlementsProblem,
  ledgerCount,
  stripeEntitlements,
  subscribe,
  type Subscribed,
} from "./_support/billing.ts";
import { completeOpenCheckout, eventsAbout, syntheticEvent } from "./_support/emulator.ts";
import { handlersWith, type Harness, harnessTest } from "./_support/harness.ts";
import { createPlan, jsonBody, stripeReadsSince } from "./_support/plans.ts";
import { mulberry32, shuffle } from "./_support/random.ts";
import { answerOf, assertAnswer } from "./_support/responses.ts";
import { asCaller } from "./_support/roles.ts";
import { deliverAll, deliverOk, eventOutcomes } from "./_support/webhook.ts";

const SUMMARY = "entitlements.active_entitlement_summary.updated";
const PRO = ["api_access", "priority_support", "projects"];
const BASIC = ["projects"];

/** The customer's entitlement summaries since `mark`. */
function summariesSince(h: Harness, mark: number, customerId: string): Stripe.Event[] {
  return eventsAbout(h, mark, [customerId]).filter((event) => event.type === SUMMARY);
}

/** A subscriber of the default plan (Pro) whose events, summaries included, were delivered. */
async function proSubscriber(h: Harness): Promise<Subscribed & { customerId: string }> {
  const mark = h.emulator.events().length;
  const subscribed = await subscribe(h);
  const customerId = String(subscribed.subscription.customer);
  await deliverAll(h, subscribed.events());
  await deliverAll(h, summariesSince(h, mark, customerId));
  return { ...subscribed, customerId };
}

async function entitlementsOf(h: Harness, userId: string): Promise<string[]> {
  return [...(await h.profile(userId)).entitlements].sort();
}

harnessTest(
  "stripe-webhook gives the profile its entitlements after subscribe, plan change and cancel",
  async (h) => {
    const { user, subscription, customerId } = await proSubscriber(h);
    assert.deepEqual(await entitlementsOf(h, user.id), PRO);

    let mark = h.emulator.events().length;
    h.emulator.subscription(subscription.id).changePrice(CATALOG.prices.basicMonthly);
    const [changed] = summariesSince(h, mark, customerId);
    assert.ok(changed, "the plan change made no summary");
    await deliverOk(h, changed);
    assert.deepEqual(await entitlementsOf(h, user.id), BASIC);

    mark = h.emulator.events().length;
    h.emulator.subscription(subscription.id).cancelNow();
    await deliverAll(h, summariesSince(h, mark, customerId));
    assert.deepEqual(await entitlementsOf(h, user.id), []);
    assert.equal(await entitlementsProblem(h, user.id, customerId), null);
  },
);

harnessTest(
  "stripe-webhook ends at Stripe's entitlements whatever order, duplication or concurrency the summaries come in",
  async (h) => {
    for (const [order, seed] of [["reversed", 0], ["shuffled twice", 1], ["at once", 2]] as const) {
      const mark = h.emulator.events().length;
      const subscribed = await subscribe(h);
      const customerId = String(subscribed.subscription.customer);
      const control = h.emulator.subscription(subscribed.subscription.id);
      control.changePrice(CATALOG.prices.basicMonthly);
      control.changePrice(CATALOG.prices.proMonthly);
      control.pause();
      control.resume();
      control.changePrice(CATALOG.prices.basicYearly);
      const events = [...subscribed.events(), ...summariesSince(h, mark, customerId)];
      assert.ok(events.filter((event) => event.type === SUMMARY).length >= 5, order);
      if (order === "reversed") {
        await deliverAll(h, events.reverse());
      } else if (order === "shuffled twice") {
        await deliverAll(h, shuffle([...events, ...events], mulberry32(20261201 + seed)));
      } else {
        const answers = await Promise.all([...events, ...events].map((event) => h.deliver(event)));
        for (const answer of answers) await assertAnswer(answer, 200, { received: true });
      }
      assert.equal(await entitlementsProblem(h, subscribed.user.id, customerId), null, order);
      assert.deepEqual(await entitlementsOf(h, subscribed.user.id), BASIC, order);
      for (const event of events.filter((e) => e.type === SUMMARY)) {
        assert.equal(await ledgerCount(h, event.id), 1, order);
      }
    }
  },
);

harnessTest(
  "stripe-webhook applies a summary once: a repeat reads nothing from Stripe and changes nothing",
  async (h) => {
    const { user, subscription, customerId } = await proSubscriber(h);
    const mark = h.emulator.events().length;
    h.emulator.subscription(subscription.id).changePrice(CATALOG.prices.basicMonthly);
    const [summary] = summariesSince(h, mark, customerId);
    assert.ok(summary);
    await deliverOk(h, summary);
    const before = await h.profile(user.id);
    const reads = h.emulator.requests().length;
    await deliverOk(h, summary);
    assert.deepEqual(stripeReadsSince(h, reads, "/v1/entitlements"), []);
    assert.deepEqual(await h.profile(user.id), before);
    assert.deepEqual(eventOutcomes(h, summary.id), ["applied", "duplicate"]);
  },
);

harnessTest("stripe-webhook reads every page of a customer's active entitlements", async (h) => {
  const keys = Array.from({ length: 130 }, (_, i) => `feature_${String(i).padStart(3, "0")}`);
  const plan = await createPlan(h, { features: keys });
  const user = await h.createUser();
  const checkout = handlersWith(h, { prices: [plan.lookupKey] }).checkout;
  await answerOf(await h.post(checkout, user.token, jsonBody({ price: plan.lookupKey })), 200);
  const mark = h.emulator.events().length;
  const paid = completeOpenCheckout(h, user.id);
  const customerId = String(paid.subscription.customer);
  await deliverAll(h, paid.events());
  const reads = h.emulator.requests().length;
  await deliverAll(h, summariesSince(h, mark, customerId));
  assert.equal((await h.profile(user.id)).entitlements.length, 130);
  assert.equal(await entitlementsProblem(h, user.id, customerId), null);
  assert.ok(stripeReadsSince(h, reads, "/v1/entitlements/active_entitlements").length >= 2);
  assert.equal((await stripeEntitlements(h, customerId)).length, 130);
});

harnessTest(
  "stripe-webhook answers 200 to a summary of a customer no profile holds, and records it",
  async (h) => {
    const customer = await h.stripe.customers.create({ email: "nobody@example.com" });
    const event = syntheticEvent(SUMMARY, {
      object: "entitlements.active_entitlement_summary",
      customer: customer.id,
      entitlements: { object: "list", data: [], has_more: false, url: "/v1/x" },
      livemode: false,
    });
    await deliverOk(h, event);
    assert.equal(await ledgerCount(h, String(event.id)), 1);
    assert.deepEqual(eventOutcomes(h, String(event.id)), ["unmatched"]);
  },
);

harnessTest(
  "has_entitlement answers for the caller from the profile's entitlements, and nothing about others",
  async (h) => {
    const { user } = await proSubscriber(h);
    const stranger = await h.createUser();
    const answers = await asCaller(
      h.sql,
      { role: "authenticated", userId: user.id },
      (tx) =>
        tx<{ own: boolean; missing: boolean; other: boolean }[]>`
        select public.has_entitlement('api_access') as own,
          public.has_entitlement('no_such_feature') as missing,
          public.has_entitlement('projects', ${stranger.id}::uuid) as other`,
    );
    assert.deepEqual(answers[0], { own: true, missing: false, other: false });
    const strangers = await asCaller(
      h.sql,
      { role: "authenticated", userId: stranger.id },
      (tx) =>
        tx<{ own: boolean; other: boolean }[]>`
        select public.has_entitlement('projects') as own,
          public.has_entitlement('projects', ${user.id}::uuid) as other`,
    );
    assert.deepEqual(strangers[0], { own: false, other: false });
  },
);
