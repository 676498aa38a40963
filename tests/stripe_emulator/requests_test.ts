import assert from "node:assert/strict";
import { RequestRecorder } from "../../dev/stripe/recorder.ts";
import { rejects, setup, Stripe } from "./support.ts";

Deno.test("every API call is recorded with its decoded parameters, key and answer", async () => {
  const { stripe, emulator, close } = await setup();
  try {
    await stripe.customers.create({ email: "ada@example.com", metadata: { a: "1" } }, {
      idempotencyKey: "k-1",
    });
    await rejects(
      stripe.customers.retrieve("cus_missing"),
      Stripe.errors.StripeInvalidRequestError,
    );
    await stripe.customers.list({ limit: 2 });
    assert.deepEqual(emulator.requests(), [
      {
        method: "POST",
        path: "/v1/customers",
        params: { email: "ada@example.com", metadata: { a: "1" } },
        idempotencyKey: "k-1",
        status: 200,
      },
      {
        method: "GET",
        path: "/v1/customers/cus_missing",
        params: {},
        idempotencyKey: null,
        status: 404,
      },
      {
        method: "GET",
        path: "/v1/customers",
        params: { limit: "2" },
        idempotencyKey: null,
        status: 200,
      },
    ]);
  } finally {
    await close();
  }
});

Deno.test("the recorder hands out copies and forgets on clear", () => {
  const recorder = new RequestRecorder();
  const entry = recorder.record({ method: "GET", path: "/v1/x", params: {}, idempotencyKey: null });
  assert.equal(recorder.list()[0]?.status, 0);
  entry.status = 200;
  const [listed] = recorder.list();
  assert.equal(listed?.status, 200);
  if (listed) listed.status = 999;
  assert.equal(recorder.list()[0]?.status, 200);
  recorder.clear();
  assert.deepEqual(recorder.list(), []);
});
