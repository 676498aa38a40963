import assert from "node:assert/strict";
import { faultError, faultFromJson, FaultQueue } from "../../dev/stripe/faults.ts";
import { clientFor, rejects, setup, Stripe } from "./support.ts";

Deno.test("injected faults answer Stripe's errors, then calls succeed again", async () => {
  const { stripe, emulator, close } = await setup();
  try {
    emulator.failNext({ method: "POST", path: "/v1/customers", status: 500 });
    const server = await rejects(stripe.customers.create({}), Stripe.errors.StripeAPIError);
    assert.equal(server.statusCode, 500);

    emulator.failNext({ path: /^\/v1\/customers/, status: 429, count: 2 });
    const limited = await rejects(stripe.customers.create({}), Stripe.errors.StripeRateLimitError);
    assert.equal(limited.code, "rate_limit");
    await rejects(stripe.customers.create({}), Stripe.errors.StripeRateLimitError);

    emulator.failNext({ status: 402 });
    await rejects(stripe.customers.create({}), Stripe.errors.StripeCardError);

    const customer = await stripe.customers.create({});
    assert.match(customer.id, /^cus_/);
  } finally {
    await close();
  }
});

Deno.test("a delay fault makes the SDK time out", async () => {
  const running = await setup();
  try {
    const impatient = clientFor(running, "sk_test_emulator", { timeoutMs: 50 });
    running.emulator.failNext({ path: "/v1/customers", delayMs: 300 });
    await rejects(impatient.customers.create({}), Stripe.errors.StripeConnectionError);
  } finally {
    await running.close();
  }
});

Deno.test("the SDK's retry after a 500 reuses its idempotency key and makes one object", async () => {
  const running = await setup();
  try {
    const retrying = clientFor(running, "sk_test_emulator", { maxNetworkRetries: 1 });
    running.emulator.failNext({ path: "/v1/customers", status: 500 });
    const customer = await retrying.customers.create({ email: "ada@example.com" });
    assert.match(customer.id, /^cus_/);
    const calls = running.emulator.requests().filter((request) => request.path === "/v1/customers");
    assert.deepEqual(calls.map((call) => call.status), [500, 200]);
    assert.equal(calls[0]?.idempotencyKey, calls[1]?.idempotencyKey);
    assert.equal(running.emulator.customers().length, 1);
  } finally {
    await running.close();
  }
});

Deno.test("a fault queue matches by method and path, in order, for its count", () => {
  const queue = new FaultQueue();
  queue.add({ method: "post", path: "/v1/customers", status: 500, count: 2 });
  queue.add({ path: /^\/v1\/subscriptions\/sub_/, status: 429 });
  assert.equal(queue.size, 2);
  assert.equal(queue.take("GET", "/v1/customers"), undefined);
  assert.equal(queue.take("POST", "/v1/customers")?.status, 500);
  assert.equal(queue.take("POST", "/v1/customers/cus_1")?.status, 500);
  assert.equal(queue.take("POST", "/v1/customers"), undefined);
  assert.equal(queue.take("GET", "/v1/subscriptions/sub_1")?.status, 429);
  assert.equal(queue.size, 0);
  queue.add({ status: 500 });
  queue.clear();
  assert.equal(queue.take("GET", "/v1/events"), undefined);
});

Deno.test("a fault's error is Stripe's body for its status, with its overrides", () => {
  assert.equal(faultError({ status: 429 }).body.code, "rate_limit");
  assert.equal(faultError({ status: 402 }).body.decline_code, "generic_decline");
  assert.equal(faultError({ status: 503 }).body.type, "api_error");
  const custom = faultError({ status: 400, error: { code: "custom", message: "Custom" } });
  assert.deepEqual({ status: custom.status, ...custom.body }, {
    status: 400,
    type: "invalid_request_error",
    code: "custom",
    message: "Custom",
  });
});

Deno.test("a fault from control JSON keeps only well-typed fields and defaults to a 500", () => {
  assert.deepEqual(faultFromJson({ path: "/v1/x", count: "2", error: { type: "nope" } }), {
    path: "/v1/x",
    error: {},
    status: 500,
  });
  const pattern = faultFromJson({ pathPattern: "^/v1/c", delayMs: 5 });
  assert.ok(pattern.path instanceof RegExp);
  assert.equal(pattern.status, undefined);
  assert.equal(pattern.delayMs, 5);
});
