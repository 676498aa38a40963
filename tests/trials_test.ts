/**
 * Trials end at Stripe and the profile follows through the events it already handles: paid and
 * `active` with a card, `canceled` without one when the trial needed none. The emulator's clock
 * is advanced past the trial's end (this file's environment only).
 */
import assert from "node:assert/strict";
import { actualBilling, assertSynced } from "./_support/billing.ts";
import { completeOpenCheckout, eventsAbout } from "./_support/emulator.ts";
import { handlersWith, type Harness, harnessTest, type TestUser } from "./_support/harness.ts";
import { answerOf } from "./_support/responses.ts";
import { deliverAll } from "./_support/webhook.ts";

const DAY = 24 * 60 * 60;

/** A user who started a trial through checkout; every event so far delivered. */
async function startTrial(
  h: Harness,
  settings: { trialDays: number; trialRequireCard: boolean },
  card: boolean,
): Promise<{ user: TestUser; subscriptionId: string; customerId: string }> {
  const user = await h.createUser();
  await answerOf(await h.post(handlersWith(h, settings).checkout, user.token), 200);
  const paid = completeOpenCheckout(h, user.id, { card });
  await deliverAll(h, paid.events());
  const customerId = String(paid.subscription.customer);
  await deliverAll(h, entitlementEvents(h, 0, customerId));
  return { user, subscriptionId: paid.subscription.id, customerId };
}

/** The customer's entitlement summaries after `mark`. */
function entitlementEvents(h: Harness, mark: number, customerId: string) {
  return eventsAbout(h, mark, [customerId]).filter((event) =>
    event.type === "entitlements.active_entitlement_summary.updated"
  );
}

/** Advances the emulator's clock and delivers what the subscription and customer went through. */
async function advanceAndDeliver(
  h: Harness,
  seconds: number,
  ids: { subscriptionId: string; customerId: string },
): Promise<void> {
  const mark = h.emulator.events().length;
  h.emulator.advanceClock(seconds);
  const events = eventsAbout(h, mark, [ids.subscriptionId, ids.customerId]);
  assert.ok(events.length > 0, "the clock made no event");
  await deliverAll(h, events);
}

harnessTest("a trial with a card shows trialing, then ends paid and active", async (h) => {
  const trial = await startTrial(h, { trialDays: 7, trialRequireCard: true }, true);
  const during = await actualBilling(h, trial.user.id);
  assert.equal(during.subscription_status, "trialing");
  const subscription = await h.stripe.subscriptions.retrieve(trial.subscriptionId);
  assert.equal(during.trial_end, subscription.trial_end);
  assert.ok((subscription.trial_end ?? 0) - subscription.created === 7 * DAY);
  assert.ok((await h.profile(trial.user.id)).entitlements.length > 0);

  await advanceAndDeliver(h, 8 * DAY, trial);
  const after = await actualBilling(h, trial.user.id);
  assert.equal(after.subscription_status, "active");
  await assertSynced(h, trial.user.id, trial.subscriptionId);
  assert.ok((await h.profile(trial.user.id)).entitlements.length > 0);
});

harnessTest(
  "a trial without a card (STRIPE_TRIAL_REQUIRE_CARD=false) ends canceled, and its entitlements go",
  async (h) => {
    const trial = await startTrial(h, { trialDays: 3, trialRequireCard: false }, false);
    assert.equal((await actualBilling(h, trial.user.id)).subscription_status, "trialing");
    const subscription = await h.stripe.subscriptions.retrieve(trial.subscriptionId);
    assert.equal(subscription.default_payment_method, null);
    assert.equal(
      subscription.trial_settings?.end_behavior.missing_payment_method,
      "cancel",
    );

    await advanceAndDeliver(h, 4 * DAY, trial);
    assert.equal((await actualBilling(h, trial.user.id)).subscription_status, "canceled");
    await assertSynced(h, trial.user.id, trial.subscriptionId);
    assert.deepEqual((await h.profile(trial.user.id)).entitlements, []);
  },
);

harnessTest(
  "a cardless trial whose user gave a card at checkout ends paid",
  async (h) => {
    const trial = await startTrial(h, { trialDays: 3, trialRequireCard: false }, true);
    await advanceAndDeliver(h, 4 * DAY, trial);
    assert.equal((await actualBilling(h, trial.user.id)).subscription_status, "active");
    await assertSynced(h, trial.user.id, trial.subscriptionId);
  },
);
