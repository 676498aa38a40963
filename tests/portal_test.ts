import assert from "node:assert/strict";
import { completeOpenCheckout, portalRequestsOf } from "./_support/emulator.ts";
import {
  type Harness,
  harnessTest,
  SITE_URL,
  STRIPE_SECRET_KEY,
  type TestUser,
} from "./_support/harness.ts";
import { answerOf, assertAnswer, assertPreflight, errorOf } from "./_support/responses.ts";
import { deliverAll } from "./_support/webhook.ts";

const PORTAL_PATH = "/v1/billing_portal/sessions";

/** A user who went through checkout, so the profile holds a Stripe customer. */
async function userWithCustomer(h: Harness): Promise<{ user: TestUser; customerId: string }> {
  const user = await h.createUser();
  const response = await h.post(h.checkout, user.token);
  assert.equal(response.status, 200);
  await response.body?.cancel();
  const customerId = (await h.profile(user.id)).stripe_customer_id;
  assert.ok(customerId, "checkout stored no customer");
  return { user, customerId };
}

harnessTest("stripe-portal answers 401 without a token", async (h) => {
  await errorOf(await h.post(h.portal), 401);
});

for (
  const [name, token] of [
    ["a malformed token", "not-a-token"],
    ["a token with a forged signature", "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.AAAA"],
  ] as const
) {
  harnessTest(`stripe-portal answers 401 with ${name}`, async (h) => {
    await errorOf(await h.post(h.portal, token), 401);
  });
}

harnessTest("stripe-portal answers 401 with an expired token of a real user", async (h) => {
  const { user } = await userWithCustomer(h);
  const before = h.emulator.requests().length;
  const response = await h.post(h.portal, await h.token(user.id, {}, { expiresIn: -60 }));
  await errorOf(response, 401);
  assert.equal(h.emulator.requests().length, before, "an unauthenticated call reached Stripe");
});

for (const method of ["GET", "PUT", "DELETE"]) {
  harnessTest(`stripe-portal answers 405 to ${method}`, async (h) => {
    const user = await h.createUser();
    const response = await h.post(h.portal, user.token, { method });
    await assertAnswer(response, 405, { error: "Method not allowed" });
  });
}

harnessTest(
  "stripe-portal answers an OPTIONS preflight without a token with the CORS headers",
  async (h) => {
    const response = await h.post(h.portal, undefined, {
      method: "OPTIONS",
      headers: {
        Origin: "http://elsewhere.localhost",
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, apikey, x-client-info, content-type",
      },
    });
    await assertPreflight(response);
  },
);

harnessTest("stripe-portal answers 400 when the user has no customer", async (h) => {
  const user = await h.createUser();
  const before = h.emulator.requests().length;
  const response = await h.post(h.portal, user.token);
  await assertAnswer(response, 400, { error: "No active subscription" });
  assert.equal(h.emulator.requests().length, before, "a user without a customer reached Stripe");
});

harnessTest(
  "stripe-portal answers 200 with a portal session for the user's customer",
  async (h) => {
    const { user, customerId } = await userWithCustomer(h);
    const body = await answerOf(await h.post(h.portal, user.token), 200);
    assert.deepEqual(Object.keys(body), ["url"]);
    assert.equal(typeof body.url, "string");
    assert.ok(URL.canParse(String(body.url)), `not a URL: ${body.url}`);

    const sent = portalRequestsOf(h, customerId);
    assert.equal(sent.length, 1);
    const [request] = sent;
    assert.ok(request);
    assert.equal(request.status, 200);
    assert.equal(request.params.customer, customerId);
    assert.equal(request.params.return_url, `${SITE_URL}/dashboard`);
    assert.equal(typeof request.idempotencyKey, "string");
    assert.notEqual(request.idempotencyKey, "");
  },
);

harnessTest(
  "stripe-portal answers 200 for a user whose subscription was canceled, to show invoices",
  async (h) => {
    const { user, customerId } = await userWithCustomer(h);
    const { subscription, events } = completeOpenCheckout(h, user.id);
    h.emulator.subscription(subscription.id).cancelNow();
    await deliverAll(h, events());
    const profile = await h.profile(user.id);
    assert.equal(profile.subscription_status, "canceled");
    assert.equal(profile.stripe_customer_id, customerId);

    const body = await answerOf(await h.post(h.portal, user.token), 200);
    assert.equal(typeof body.url, "string");
    assert.equal(portalRequestsOf(h, customerId).length, 1);
  },
);

harnessTest("stripe-portal opens a new session on each call for the same user", async (h) => {
  const { user, customerId } = await userWithCustomer(h);
  const urls: unknown[] = [];
  for (let call = 0; call < 2; call++) {
    urls.push((await answerOf(await h.post(h.portal, user.token), 200)).url);
  }
  assert.notEqual(urls[0], urls[1]);
  const keys = portalRequestsOf(h, customerId).map((request) => request.idempotencyKey);
  assert.equal(keys.length, 2);
  assert.notEqual(keys[0], keys[1]);
});

harnessTest(
  "stripe-portal answers 400 when the user's customer was deleted at Stripe",
  async (h) => {
    const { user, customerId } = await userWithCustomer(h);
    await h.stripe.customers.del(customerId);
    const response = await h.post(h.portal, user.token);
    await assertAnswer(response, 400, { error: "No active subscription" });
  },
);

harnessTest(
  "stripe-portal answers 500 without Stripe's message when Stripe fails",
  async (h) => {
    const { user } = await userWithCustomer(h);
    const stripeMessage = "Internal detail zq7 from the billing backend";
    h.emulator.failNext({
      path: PORTAL_PATH,
      status: 500,
      error: { message: stripeMessage },
    });
    const logged = h.logs.length;
    const response = await h.post(h.portal, user.token);
    const error = await errorOf(response, 500);
    for (const fragment of ["zq7", "Internal detail", "api_error", "req_", "stripe.com"]) {
      assert.ok(!error.includes(fragment), `error body leaks "${fragment}": ${error}`);
    }
    // The detail is for the log.
    assert.ok(
      h.logs.slice(logged).some((line) => line.includes("zq7")),
      "Stripe's error is not in the log",
    );
  },
);

harnessTest("stripe-portal writes no secret to its log", async (h) => {
  const { user } = await userWithCustomer(h);
  const stranger = await h.createUser();
  const before = h.logs.length;
  // One request down each path that logs: refused, opened, and failed at Stripe (with its cause).
  const calls: [string | undefined, number][] = [
    [undefined, 401],
    [stranger.token, 400],
    [user.token, 200],
  ];
  for (const [token, status] of calls) {
    const response = await h.post(h.portal, token);
    assert.equal(response.status, status);
    await response.body?.cancel();
  }
  h.emulator.failNext({ path: PORTAL_PATH, status: 500 });
  const failed = await h.post(h.portal, user.token);
  assert.equal(failed.status, 500);
  await failed.body?.cancel();

  const lines = h.logs.slice(before).map((line) => JSON.parse(line) as Record<string, unknown>);
  assert.deepEqual(lines.map((fields) => [fields.function, fields.status, fields.outcome]), [
    ["stripe-portal", 401, "rejected"],
    ["stripe-portal", 400, "rejected"],
    ["stripe-portal", 200, "ok"],
    ["stripe-portal", 500, "failed"],
  ]);
  for (const line of h.logs) {
    assert.ok(!line.includes(STRIPE_SECRET_KEY), `log line holds the Stripe key: ${line}`);
    assert.ok(!line.includes(user.token), `log line holds a user's token: ${line}`);
    assert.ok(!line.includes(stranger.token), `log line holds a user's token: ${line}`);
  }
});
