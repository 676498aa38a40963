import assert from "node:assert/strict";
import {
  closeHarness,
  type Harness,
  harnessTest,
  SITE_URL,
  STRIPE_SECRET_KEY,
  type TestUser,
} from "./harness.ts";

const PORTAL_PATH = "/v1/billing_portal/sessions";

function assertJsonWithCors(response: Response): void {
  assert.equal(response.headers.get("content-type"), "application/json");
  assert.equal(response.headers.get("access-control-allow-origin"), "*");
}

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

function portalRequestsFor(h: Harness, customerId: string) {
  return h.emulator.requests().filter((request) =>
    request.method === "POST" && request.path === PORTAL_PATH &&
    request.params.customer === customerId
  );
}

harnessTest("stripe-portal answers 401 without a token", async (h) => {
  const response = await h.post(h.portal);
  assert.equal(response.status, 401);
  assertJsonWithCors(response);
  const body = await response.json();
  assert.deepEqual(Object.keys(body), ["error"]);
  assert.equal(typeof body.error, "string");
});

for (
  const [name, token] of [
    ["a malformed token", "not-a-token"],
    ["a token with a forged signature", "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.AAAA"],
  ] as const
) {
  harnessTest(`stripe-portal answers 401 with ${name}`, async (h) => {
    const response = await h.post(h.portal, token);
    assert.equal(response.status, 401);
    assertJsonWithCors(response);
    const body = await response.json();
    assert.deepEqual(Object.keys(body), ["error"]);
    assert.equal(typeof body.error, "string");
  });
}

harnessTest("stripe-portal answers 401 with an expired token of a real user", async (h) => {
  const { user } = await userWithCustomer(h);
  const before = h.emulator.requests().length;
  const response = await h.post(h.portal, await h.token(user.id, {}, { expiresIn: -60 }));
  assert.equal(response.status, 401);
  assertJsonWithCors(response);
  assert.equal(typeof (await response.json()).error, "string");
  assert.equal(h.emulator.requests().length, before, "an unauthenticated call reached Stripe");
});

for (const method of ["GET", "PUT", "DELETE"]) {
  harnessTest(`stripe-portal answers 405 to ${method}`, async (h) => {
    const user = await h.createUser();
    const response = await h.portal(
      new Request("http://127.0.0.1/functions/v1/stripe-portal", {
        method,
        headers: { Authorization: `Bearer ${user.token}` },
      }),
    );
    assert.equal(response.status, 405);
    assertJsonWithCors(response);
    assert.deepEqual(await response.json(), { error: "Method not allowed" });
  });
}

harnessTest(
  "stripe-portal answers an OPTIONS preflight without a token with the CORS headers",
  async (h) => {
    const response = await h.portal(
      new Request("http://127.0.0.1/functions/v1/stripe-portal", {
        method: "OPTIONS",
        headers: {
          Origin: "http://elsewhere.localhost",
          "Access-Control-Request-Method": "POST",
          "Access-Control-Request-Headers": "authorization, apikey, x-client-info, content-type",
        },
      }),
    );
    assert.equal(response.status, 204);
    assert.equal(response.headers.get("access-control-allow-origin"), "*");
    assert.match(response.headers.get("access-control-allow-methods") ?? "", /\bPOST\b/);
    const allowed = (response.headers.get("access-control-allow-headers") ?? "")
      .split(",").map((name) => name.trim().toLowerCase());
    for (const name of ["authorization", "content-type", "apikey", "x-client-info"]) {
      assert.ok(allowed.includes(name), `Access-Control-Allow-Headers lacks ${name}`);
    }
    await response.body?.cancel();
  },
);

harnessTest("stripe-portal answers 400 when the user has no customer", async (h) => {
  const user = await h.createUser();
  const before = h.emulator.requests().length;
  const response = await h.post(h.portal, user.token);
  assert.equal(response.status, 400);
  assertJsonWithCors(response);
  assert.deepEqual(await response.json(), { error: "No active subscription" });
  assert.equal(h.emulator.requests().length, before, "a user without a customer reached Stripe");
});

harnessTest(
  "stripe-portal answers 200 with a portal session for the user's customer",
  async (h) => {
    const { user, customerId } = await userWithCustomer(h);
    const response = await h.post(h.portal, user.token);
    assert.equal(response.status, 200);
    assertJsonWithCors(response);
    const body = await response.json();
    assert.deepEqual(Object.keys(body), ["url"]);
    assert.equal(typeof body.url, "string");
    assert.ok(URL.canParse(body.url), `not a URL: ${body.url}`);

    const sent = portalRequestsFor(h, customerId);
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
    const session = h.emulator.checkoutSessions().find((s) => s.client_reference_id === user.id);
    assert.ok(session);
    const mark = h.emulator.events().length;
    const subscription = h.emulator.completeCheckout(session.id);
    h.emulator.subscription(subscription.id).cancelNow();
    for (const event of h.emulator.events().slice(mark)) {
      if (!JSON.stringify(event.data.object).includes(`"${subscription.id}"`)) continue;
      const delivered = await h.deliver(event);
      assert.equal(delivered.status, 200);
      await delivered.body?.cancel();
    }
    const profile = await h.profile(user.id);
    assert.equal(profile.subscription_status, "canceled");
    assert.equal(profile.stripe_customer_id, customerId);

    const response = await h.post(h.portal, user.token);
    assert.equal(response.status, 200);
    assertJsonWithCors(response);
    assert.equal(typeof (await response.json()).url, "string");
    assert.equal(portalRequestsFor(h, customerId).length, 1);
  },
);

harnessTest("stripe-portal opens a new session on each call for the same user", async (h) => {
  const { user, customerId } = await userWithCustomer(h);
  const urls: unknown[] = [];
  for (let call = 0; call < 2; call++) {
    const response = await h.post(h.portal, user.token);
    assert.equal(response.status, 200);
    urls.push((await response.json()).url);
  }
  assert.notEqual(urls[0], urls[1]);
  const keys = portalRequestsFor(h, customerId).map((request) => request.idempotencyKey);
  assert.equal(keys.length, 2);
  assert.notEqual(keys[0], keys[1]);
});

harnessTest(
  "stripe-portal answers 400 when the user's customer was deleted at Stripe",
  async (h) => {
    const { user, customerId } = await userWithCustomer(h);
    await h.stripe.customers.del(customerId);
    const response = await h.post(h.portal, user.token);
    assert.equal(response.status, 400);
    assertJsonWithCors(response);
    assert.deepEqual(await response.json(), { error: "No active subscription" });
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
    const response = await h.post(h.portal, user.token);
    assert.equal(response.status, 500);
    assertJsonWithCors(response);
    const body = await response.json();
    assert.deepEqual(Object.keys(body), ["error"]);
    assert.equal(typeof body.error, "string");
    for (const fragment of ["zq7", "Internal detail", "api_error", "req_", "stripe.com"]) {
      assert.ok(!body.error.includes(fragment), `error body leaks "${fragment}": ${body.error}`);
    }
    // The detail is for the log.
    assert.ok(h.logs.some((line) => line.includes("zq7")), "Stripe's error is not in the log");
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

closeHarness();
