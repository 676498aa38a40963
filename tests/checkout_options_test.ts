/**
 * What the settings add to a checkout session, read back from the calls the emulator received:
 * the trial of a first subscription only (STRIPE_TRIAL_DAYS, STRIPE_TRIAL_REQUIRE_CARD),
 * promotion codes (STRIPE_ALLOW_PROMOTION_CODES) and automatic tax (STRIPE_AUTOMATIC_TAX).
 */
import assert from "node:assert/strict";
import { CATALOG, type RecordedRequest, TEST_ADDRESS } from "../dev/stripe/mod.ts";
import { completeOpenCheckout, sessionRequestsOf } from "./_support/emulator.ts";
import {
  type FunctionHandlers,
  handlersWith,
  type Harness,
  harnessTest,
  type TestUser,
} from "./_support/harness.ts";
import { jsonBody } from "./_support/plans.ts";
import { answerOf } from "./_support/responses.ts";
import { deliverAll } from "./_support/webhook.ts";

/** Opens a checkout through `handlers` and returns the session call Stripe received. */
async function checkoutRequest(
  h: Harness,
  handlers: FunctionHandlers,
  user: TestUser,
  init: RequestInit = {},
): Promise<RecordedRequest> {
  await answerOf(await h.post(handlers.checkout, user.token, init), 200);
  const request = sessionRequestsOf(h, user.id).at(-1);
  assert.ok(request, "no session was created");
  return request;
}

/** The session parameters the settings decide (everything else is checked elsewhere). */
function optionalParams(request: RecordedRequest) {
  const p = request.params;
  const { metadata: _metadata, ...subscriptionData } = (p.subscription_data ?? {}) as Record<
    string,
    unknown
  >;
  return {
    subscription_data: subscriptionData,
    payment_method_collection: p.payment_method_collection,
    allow_promotion_codes: p.allow_promotion_codes,
    automatic_tax: p.automatic_tax,
    customer_update: p.customer_update,
  };
}

const NOTHING_ADDED = {
  subscription_data: {},
  payment_method_collection: undefined,
  allow_promotion_codes: undefined,
  automatic_tax: undefined,
  customer_update: undefined,
};

harnessTest("stripe-checkout adds nothing to the session when no option is set", async (h) => {
  const request = await checkoutRequest(h, handlersWith(h, {}), await h.createUser());
  assert.deepEqual(optionalParams(request), NOTHING_ADDED);
});

harnessTest(
  "stripe-checkout gives a first subscription STRIPE_TRIAL_DAYS of trial, with a card by default",
  async (h) => {
    const request = await checkoutRequest(
      h,
      handlersWith(h, { trialDays: 14 }),
      await h.createUser(),
    );
    assert.deepEqual(optionalParams(request), {
      ...NOTHING_ADDED,
      subscription_data: { trial_period_days: "14" },
    });
  },
);

harnessTest(
  "stripe-checkout asks for no card during the trial with STRIPE_TRIAL_REQUIRE_CARD=false",
  async (h) => {
    const request = await checkoutRequest(
      h,
      handlersWith(h, { trialDays: 30, trialRequireCard: false }),
      await h.createUser(),
    );
    assert.deepEqual(optionalParams(request), {
      ...NOTHING_ADDED,
      subscription_data: {
        trial_period_days: "30",
        trial_settings: { end_behavior: { missing_payment_method: "cancel" } },
      },
      payment_method_collection: "if_required",
    });
  },
);

harnessTest(
  "stripe-checkout gives one trial per user: none after a canceled subscription, whatever the plan",
  async (h) => {
    const handlers = handlersWith(h, {
      trialDays: 7,
      trialRequireCard: false,
      prices: [CATALOG.lookupKeys.basicMonthly],
    });
    const user = await h.createUser();
    // An abandoned checkout is no subscription: the next one still gets the trial.
    await checkoutRequest(h, handlers, user);
    h.emulator.expireCheckout(sessionOf(h, user));
    const first = await checkoutRequest(h, handlers, user);
    assert.equal(optionalParams(first).subscription_data.trial_period_days, "7");

    const paid = completeOpenCheckout(h, user.id);
    await deliverAll(h, paid.events());
    const trialing = await h.profile(user.id);
    assert.equal(trialing.subscription_status, "trialing");
    assert.equal(trialing.trial_end?.getTime(), (paid.subscription.trial_end ?? 0) * 1000);

    h.emulator.subscription(paid.subscription.id).cancelNow();
    await deliverAll(h, paid.events());
    assert.equal((await h.profile(user.id)).subscription_status, "canceled");

    for (const price of [undefined, CATALOG.lookupKeys.basicMonthly]) {
      const again = await checkoutRequest(h, handlers, user, jsonBody({ price }));
      assert.deepEqual(optionalParams(again), NOTHING_ADDED, `again with ${price}`);
    }
  },
);

/** The id of the user's open session, for the emulator's controls. */
function sessionOf(h: Harness, user: TestUser): string {
  const session = h.emulator.checkoutSessions().findLast((s) =>
    s.client_reference_id === user.id && s.status === "open"
  );
  assert.ok(session, "no open session");
  return session.id;
}

harnessTest(
  "stripe-checkout accepts promotion codes with STRIPE_ALLOW_PROMOTION_CODES=true",
  async (h) => {
    const user = await h.createUser();
    const request = await checkoutRequest(h, handlersWith(h, { allowPromotionCodes: true }), user);
    assert.deepEqual(optionalParams(request), { ...NOTHING_ADDED, allow_promotion_codes: "true" });
    const paid = completeOpenCheckout(h, user.id, {
      promotionCode: CATALOG.promotionCode.code,
    });
    const subscription = await h.stripe.subscriptions.retrieve(paid.subscription.id);
    assert.equal(subscription.discounts.length, 1);
  },
);

harnessTest(
  "stripe-checkout turns on automatic tax with STRIPE_AUTOMATIC_TAX=true and saves the address Checkout collects",
  async (h) => {
    const user = await h.createUser();
    const handlers = handlersWith(h, { automaticTax: true });
    const request = await checkoutRequest(h, handlers, user);
    assert.deepEqual(optionalParams(request), {
      ...NOTHING_ADDED,
      automatic_tax: { enabled: "true" },
      customer_update: { address: "auto", name: "auto" },
    });
    // The customer has no address yet: without `customer_update` Stripe refuses the session.
    const customerId = (await h.profile(user.id)).stripe_customer_id ?? "";
    const customer = await h.stripe.customers.retrieve(customerId);
    assert.ok(!customer.deleted);
    completeOpenCheckout(h, user.id, { name: "Ada Lovelace" });
    const saved = await h.stripe.customers.retrieve(customerId);
    assert.ok(!saved.deleted);
    assert.deepEqual(saved.address, TEST_ADDRESS);
    assert.equal(saved.name, "Ada Lovelace");
  },
);

harnessTest("stripe-checkout combines every option with a chosen plan", async (h) => {
  const request = await checkoutRequest(
    h,
    handlersWith(h, {
      prices: [CATALOG.lookupKeys.basicYearly],
      trialDays: 10,
      trialRequireCard: false,
      allowPromotionCodes: true,
      automaticTax: true,
    }),
    await h.createUser(),
    jsonBody({ price: CATALOG.lookupKeys.basicYearly }),
  );
  assert.deepEqual(request.params.line_items, [{
    price: CATALOG.prices.basicYearly,
    quantity: "1",
  }]);
  assert.deepEqual(optionalParams(request), {
    subscription_data: {
      trial_period_days: "10",
      trial_settings: { end_behavior: { missing_payment_method: "cancel" } },
    },
    payment_method_collection: "if_required",
    allow_promotion_codes: "true",
    automatic_tax: { enabled: "true" },
    customer_update: { address: "auto", name: "auto" },
  });
});
