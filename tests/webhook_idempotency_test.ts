/**
 * Exactly once: a repeated or concurrent delivery of an event is applied once and recorded once,
 * and a delivery that failed wrote nothing, so that Stripe's retry applies the event.
 */
import assert from "node:assert/strict";
import { assertSynced, ledgerCount, subscribe } from "./_support/billing.ts";
import { harnessTest } from "./_support/harness.ts";
import { assertAnswer } from "./_support/responses.ts";
import { deliverOk, eventOutcomes } from "./_support/webhook.ts";

harnessTest("stripe-webhook answers 200 to a repeated delivery and changes nothing", async (h) => {
  const subscribed = await subscribe(h);
  const event = subscribed.completed;
  await deliverOk(h, event);
  const applied = await h.profile(subscribed.user.id);
  // Stripe's state moves on; a replay of the old event must not pull it in.
  h.emulator.subscription(subscribed.subscription.id).cancelAtPeriodEnd(true);

  await deliverOk(h, event);

  assert.equal(await ledgerCount(h, event.id), 1);
  const after = await h.profile(subscribed.user.id);
  assert.deepEqual(after, applied);
  assert.equal(after.updated_at.getTime(), applied.updated_at.getTime());
  assert.deepEqual(eventOutcomes(h, event.id), ["applied", "duplicate"]);
});

harnessTest(
  "stripe-webhook applies one event delivered 10 times at once exactly once",
  async (h) => {
    const subscribed = await subscribe(h);
    const event = subscribed.completed;
    const responses = await Promise.all(Array.from({ length: 10 }, () => h.deliver(event)));
    for (const response of responses) {
      await assertAnswer(response, 200, { received: true });
    }
    assert.equal(await ledgerCount(h, event.id), 1);
    const outcomes = eventOutcomes(h, event.id);
    assert.equal(outcomes.length, 10);
    assert.equal(outcomes.filter((outcome) => outcome === "applied").length, 1);
    assert.equal(outcomes.filter((outcome) => outcome === "duplicate").length, 9);
    await assertSynced(h, subscribed.user.id, subscribed.subscription.id);
  },
);

harnessTest(
  "stripe-webhook answers 500 while Stripe fails, writes nothing, and applies a later delivery",
  async (h) => {
    const subscribed = await subscribe(h);
    const event = subscribed.completed;
    const before = await h.profile(subscribed.user.id);
    h.emulator.failNext({ path: "/v1/subscriptions", status: 500, count: 5 });
    // Stripe retries a failed delivery; each attempt fails while Stripe's API does.
    for (let attempt = 0; attempt < 5; attempt++) {
      const response = await h.deliver(event);
      await assertAnswer(response, 500, { error: "Webhook handler failed" });
      assert.equal(await ledgerCount(h, event.id), 0);
      assert.deepEqual(await h.profile(subscribed.user.id), before);
    }
    await deliverOk(h, event);
    assert.equal(await ledgerCount(h, event.id), 1);
    await assertSynced(h, subscribed.user.id, subscribed.subscription.id);
    assert.equal(eventOutcomes(h, event.id).at(-1), "applied");
  },
);
