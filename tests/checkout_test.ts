import assert from "node:assert/strict";
import { DEFAULT_PRICE_ID } from "../dev/stripe/mod.ts";
import { customerCreationsOf, customersOf, sessionRequestsOf } from "./_support/emulator.ts";
import {
  type Harness,
  harnessTest,
  SITE_URL,
  STRIPE_SECRET_KEY,
  type TestUser,
} from "./_support/harness.ts";
import { answerOf, assertAnswer, assertPreflight, errorOf } from "./_support/responses.ts";

async function setStatus(h: Harness, user: TestUser, status: string | null) {
  await h.sql`update public.profiles set subscription_status = ${status} where id = ${user.id}`;
}

harnessTest("stripe-checkout answers 200 with the session's URL", async (h) => {
  const user = await h.createUser();
  const response = await h.post(h.checkout, user.token);
  const body = await answerOf(response, 200);
  const session = h.emulator.checkoutSessions().find((s) => s.client_reference_id === user.id);
  assert.ok(session);
  assert.deepEqual(body, { url: session.url });
});

harnessTest("stripe-checkout sends every session parameter with an idempotency key", async (h) => {
  const user = await h.createUser();
  assert.equal((await h.post(h.checkout, user.token)).status, 200);
  const [request] = sessionRequestsOf(h, user.id);
  assert.ok(request);
  const { customer, success_url: successUrl, ...params } = request.params;
  assert.deepEqual(params, {
    mode: "subscription",
    allowed_payment_method_types: ["card"],
    line_items: [{ price: DEFAULT_PRICE_ID, quantity: "1" }],
    client_reference_id: user.id,
    metadata: { userId: user.id, email: user.email },
    subscription_data: { metadata: { userId: user.id } },
    cancel_url: `${SITE_URL}/dashboard?checkout=canceled`,
  });
  assert.equal(customer, (await h.profile(user.id)).stripe_customer_id);
  assert.equal(
    successUrl,
    `${SITE_URL}/dashboard?checkout=success&session_id={CHECKOUT_SESSION_ID}`,
  );
  assert.ok(request.idempotencyKey);
});

harnessTest("stripe-checkout creates the customer on first need and reuses it", async (h) => {
  const user = await h.createUser();
  assert.equal((await h.post(h.checkout, user.token)).status, 200);
  const profile = await h.profile(user.id);
  assert.match(profile.stripe_customer_id ?? "", /^cus_/);
  const customer = await h.stripe.customers.retrieve(profile.stripe_customer_id ?? "");
  assert.ok(!customer.deleted);
  assert.equal(customer.metadata.userId, user.id);
  assert.equal(customer.email, user.email);

  assert.equal((await h.post(h.checkout, user.token)).status, 200);
  assert.equal((await h.profile(user.id)).stripe_customer_id, profile.stripe_customer_id);
  const requests = sessionRequestsOf(h, user.id);
  assert.equal(requests.length, 2);
  assert.ok(requests.every((request) => request.params.customer === profile.stripe_customer_id));
  assert.notEqual(requests[0]?.idempotencyKey, requests[1]?.idempotencyKey);
});

harnessTest("eight concurrent checkouts of one user create one customer", async (h) => {
  const user = await h.createUser();
  const responses = await Promise.all(
    Array.from({ length: 8 }, () => h.post(h.checkout, user.token)),
  );
  assert.deepEqual(responses.map((response) => response.status), Array(8).fill(200));
  const customers = customersOf(h, user.id);
  assert.equal(customers.length, 1);
  const profile = await h.profile(user.id);
  assert.equal(profile.stripe_customer_id, customers[0]);
  const sessions = sessionRequestsOf(h, user.id);
  assert.equal(sessions.length, 8);
  assert.ok(sessions.every((request) => request.params.customer === profile.stripe_customer_id));
});

harnessTest(
  "stripe-checkout answers 400 when the user already has a live subscription",
  async (h) => {
    for (const status of ["active", "trialing", "past_due", "unpaid", "paused"]) {
      const user = await h.createUser();
      await setStatus(h, user, status);
      const before = h.emulator.requests().length;
      const response = await h.post(h.checkout, user.token);
      await assertAnswer(response, 400, { error: "Already subscribed" });
      assert.equal(h.emulator.requests().length, before, `no Stripe call for ${status}`);
    }
  },
);

harnessTest("stripe-checkout lets a user whose subscription ended subscribe again", async (h) => {
  for (const status of ["canceled", "incomplete_expired", "incomplete"]) {
    const user = await h.createUser();
    await setStatus(h, user, status);
    assert.equal((await h.post(h.checkout, user.token)).status, 200, status);
  }
});

harnessTest(
  "stripe-checkout gives the same answer for an empty, {} or non-JSON body",
  async (h) => {
    const user = await h.createUser();
    const bodies: (string | undefined)[] = [
      undefined,
      "",
      "{}",
      "not json",
      '{"priceId":"price_evil"}',
    ];
    for (const body of bodies) {
      const response = await h.post(h.checkout, user.token, {
        body,
        headers: { "Content-Type": "application/json" },
      });
      assert.equal(response.status, 200, String(body));
      assert.match(String((await answerOf(response, 200)).url), /^http/);
    }
    const requests = sessionRequestsOf(h, user.id);
    assert.equal(requests.length, bodies.length);
    for (const request of requests) {
      assert.deepEqual(request.params.line_items, [{ price: DEFAULT_PRICE_ID, quantity: "1" }]);
    }
  },
);

harnessTest("stripe-checkout answers 401 for a missing or invalid token", async (h) => {
  const user = await h.createUser();
  const tokens = [undefined, "garbage", user.token.slice(0, -4) + "AAAA", "sb_publishable_x"];
  for (const token of tokens) {
    const response = await h.post(h.checkout, token);
    assert.equal(response.status, 401, String(token));
    await errorOf(response, 401);
  }
  assert.equal((await h.profile(user.id)).stripe_customer_id, null);
});

harnessTest(
  "stripe-checkout answers 401 for a valid token of a user that does not exist",
  async (h) => {
    const token = await h.token(crypto.randomUUID(), { email: "ghost@example.com" });
    const response = await h.post(h.checkout, token);
    await assertAnswer(response, 401, { error: "User not found" });
  },
);

harnessTest("stripe-checkout answers 405 to other methods and 204 to a preflight", async (h) => {
  const user = await h.createUser();
  for (const method of ["GET", "PUT", "DELETE", "PATCH"]) {
    const response = await h.post(h.checkout, user.token, { method });
    assert.equal(response.status, 405, method);
    await assertAnswer(response, 405, { error: "Method not allowed" });
  }
  const preflight = await h.post(h.checkout, undefined, {
    method: "OPTIONS",
    headers: {
      Origin: "http://app.example.com",
      "Access-Control-Request-Method": "POST",
      "Access-Control-Request-Headers": "authorization, apikey, x-client-info, content-type",
    },
  });
  await assertPreflight(preflight);
});

harnessTest("stripe-checkout answers 500 without Stripe's details when Stripe fails", async (h) => {
  for (const status of [500, 429]) {
    const user = await h.createUser();
    h.emulator.failNext({ path: "/v1/customers", status, count: 1 });
    const response = await h.post(h.checkout, user.token);
    await assertAnswer(response, 500, { error: "Internal server error" });
    assert.equal((await h.profile(user.id)).stripe_customer_id, null);

    assert.equal((await h.post(h.checkout, user.token)).status, 200);
    assert.equal(customersOf(h, user.id).length, 1);
  }
});

harnessTest(
  "stripe-checkout keeps the customer when the session fails, and reuses it",
  async (h) => {
    const user = await h.createUser();
    h.emulator.failNext({ path: "/v1/checkout/sessions", status: 500, count: 1 });
    assert.equal((await h.post(h.checkout, user.token)).status, 500);
    const customerId = (await h.profile(user.id)).stripe_customer_id;
    assert.match(customerId ?? "", /^cus_/);
    assert.equal((await h.post(h.checkout, user.token)).status, 200);
    assert.equal((await h.profile(user.id)).stripe_customer_id, customerId);
    assert.equal(customerCreationsOf(h, user.id).length, 1);
  },
);

harnessTest("stripe-checkout re-creates a customer deleted at Stripe, once", async (h) => {
  const user = await h.createUser();
  assert.equal((await h.post(h.checkout, user.token)).status, 200);
  const first = (await h.profile(user.id)).stripe_customer_id ?? "";
  await h.stripe.customers.del(first);

  assert.equal((await h.post(h.checkout, user.token)).status, 200);
  const second = (await h.profile(user.id)).stripe_customer_id ?? "";
  assert.match(second, /^cus_/);
  assert.notEqual(second, first);
  assert.equal((await h.post(h.checkout, user.token)).status, 200);
  assert.equal((await h.profile(user.id)).stripe_customer_id, second);
  assert.deepEqual(customersOf(h, user.id), [second]);
});

harnessTest("stripe-checkout logs one line per request and never a secret", async (h) => {
  const user = await h.createUser();
  const before = h.logs.length;
  assert.equal((await h.post(h.checkout, user.token)).status, 200);
  const lines = h.logs.slice(before).map((line) => JSON.parse(line) as Record<string, unknown>);
  assert.equal(lines.length, 1, "one line for one request");
  const [line] = lines;
  assert.ok(line);
  assert.equal(line.function, "stripe-checkout");
  assert.equal(line.userId, user.id);
  assert.equal(line.status, 200);
  assert.equal(line.outcome, "ok");
  assert.equal(typeof line.requestId, "string");
  for (const entry of h.logs) {
    assert.ok(!entry.includes(STRIPE_SECRET_KEY));
    assert.ok(!entry.includes(user.token));
  }
});
