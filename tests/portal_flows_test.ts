/**
 * Portal deep links: `{"flow": ...}` opens the portal on one page (Stripe's `flow_data`, with
 * the user's subscription for the two subscription flows and a redirect back to the dashboard),
 * with the errors of SPEC; no body, `{}` or a body that is not JSON opens its home page.
 */
import assert from "node:assert/strict";
import type { RecordedRequest } from "../dev/stripe/mod.ts";
import { subscribe } from "./_support/billing.ts";
import { portalRequestsOf } from "./_support/emulator.ts";
import { type Harness, harnessTest, SITE_URL, type TestUser } from "./_support/harness.ts";
import { jsonBody, stripeWritesSince } from "./_support/plans.ts";
import { answerOf, assertAnswer } from "./_support/responses.ts";
import { deliverAll } from "./_support/webhook.ts";

const RETURN_URL = `${SITE_URL}/dashboard`;
const AFTER_COMPLETION = { type: "redirect", redirect: { return_url: RETURN_URL } };

/** A user whose subscription is live and known to the profile. */
async function subscriber(h: Harness): Promise<{ user: TestUser; subscriptionId: string }> {
  const subscribed = await subscribe(h);
  await deliverAll(h, subscribed.events());
  return { user: subscribed.user, subscriptionId: subscribed.subscription.id };
}

/** Opens the portal with `init` and returns the call Stripe received. */
async function portalRequest(
  h: Harness,
  user: TestUser,
  init: RequestInit,
): Promise<RecordedRequest> {
  const body = await answerOf(await h.post(h.portal, user.token, init), 200);
  assert.equal(typeof body.url, "string");
  const customerId = (await h.profile(user.id)).stripe_customer_id ?? "";
  const request = portalRequestsOf(h, customerId).at(-1);
  assert.ok(request, "no portal session was created");
  return request;
}

harnessTest("stripe-portal deep-links into the payment method update", async (h) => {
  const { user } = await subscriber(h);
  const request = await portalRequest(h, user, jsonBody({ flow: "payment_method_update" }));
  assert.equal(request.params.return_url, RETURN_URL);
  assert.deepEqual(request.params.flow_data, {
    type: "payment_method_update",
    after_completion: AFTER_COMPLETION,
  });
});

harnessTest("stripe-portal deep-links into cancelling or changing the subscription", async (h) => {
  for (const flow of ["subscription_cancel", "subscription_update"]) {
    const { user, subscriptionId } = await subscriber(h);
    const request = await portalRequest(h, user, jsonBody({ flow }));
    assert.deepEqual(request.params.flow_data, {
      type: flow,
      after_completion: AFTER_COMPLETION,
      [flow]: { subscription: subscriptionId },
    }, flow);
  }
});

harnessTest(
  "stripe-portal opens the home page for no body, {}, null or a body that is not JSON",
  async (h) => {
    const { user } = await subscriber(h);
    const bodies: RequestInit[] = [
      {},
      jsonBody({}),
      jsonBody({ flow: null }),
      { body: "not json", headers: { "Content-Type": "application/json" } },
      jsonBody(["payment_method_update"]),
      jsonBody("subscription_cancel"),
    ];
    for (const init of bodies) {
      const request = await portalRequest(h, user, init);
      assert.deepEqual(request.params, {
        customer: (await h.profile(user.id)).stripe_customer_id,
        return_url: RETURN_URL,
      }, String(init.body));
    }
  },
);

harnessTest(
  "stripe-portal answers 400 Unknown flow for any other flow, without a Stripe call",
  async (h) => {
    const { user } = await subscriber(h);
    const mark = h.emulator.requests().length;
    for (
      const flow of [
        "",
        "subscription_pause",
        "customer_update",
        "PAYMENT_METHOD_UPDATE",
        42,
        true,
        ["subscription_cancel"],
        { type: "subscription_cancel" },
      ]
    ) {
      await assertAnswer(await h.post(h.portal, user.token, jsonBody({ flow })), 400, {
        error: "Unknown flow",
      });
    }
    assert.equal(h.emulator.requests().length, mark);
  },
);

harnessTest(
  "stripe-portal answers 400 No active subscription to the subscription flows without a live subscription",
  async (h) => {
    // A customer but no subscription yet (checkout opened, never paid).
    const opened = await h.createUser();
    const response = await h.post(h.checkout, opened.token);
    assert.equal(response.status, 200);
    await response.body?.cancel();
    // A subscription that ended.
    const ended = await subscribe(h);
    h.emulator.subscription(ended.subscription.id).cancelNow();
    await deliverAll(h, ended.events());
    assert.equal((await h.profile(ended.user.id)).subscription_status, "canceled");

    for (const user of [opened, ended.user]) {
      const mark = h.emulator.requests().length;
      for (const flow of ["subscription_cancel", "subscription_update"]) {
        await assertAnswer(await h.post(h.portal, user.token, jsonBody({ flow })), 400, {
          error: "No active subscription",
        });
      }
      assert.deepEqual(stripeWritesSince(h, mark), []);
      // The payment method and the home page still open, for invoices and cards.
      await portalRequest(h, user, jsonBody({ flow: "payment_method_update" }));
      await portalRequest(h, user, {});
    }
  },
);

harnessTest(
  "stripe-portal answers 400 when the subscription to cancel is already set to end",
  async (h) => {
    const subscribed = await subscribe(h);
    h.emulator.subscription(subscribed.subscription.id).cancelAtPeriodEnd(true);
    await deliverAll(h, subscribed.events());
    await assertAnswer(
      await h.post(h.portal, subscribed.user.token, jsonBody({ flow: "subscription_cancel" })),
      400,
      { error: "Subscription already set to cancel" },
    );
    // Changing the plan (or renewing it) is still open.
    const request = await portalRequest(
      h,
      subscribed.user,
      jsonBody({ flow: "subscription_update" }),
    );
    assert.equal(request.params.customer, (await h.profile(subscribed.user.id)).stripe_customer_id);
  },
);

harnessTest(
  "stripe-portal answers 400 No active subscription when Stripe says the subscription ended after the profile last heard",
  async (h) => {
    const { user, subscriptionId } = await subscriber(h);
    // Canceled at Stripe, the event not delivered: the profile still says active.
    h.emulator.subscription(subscriptionId).cancelNow();
    assert.equal((await h.profile(user.id)).subscription_status, "active");
    await assertAnswer(
      await h.post(h.portal, user.token, jsonBody({ flow: "subscription_update" })),
      400,
      { error: "No active subscription" },
    );
  },
);
