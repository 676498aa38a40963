import assert from "node:assert/strict";
import { IdempotencyStore, isStored } from "../../dev/stripe/idempotency.ts";
import { startStripeEmulator } from "../../dev/stripe/mod.ts";
import { clientFor, header, rejects, setup, Stripe } from "./support.ts";

Deno.test("a repeated idempotency key replays the first answer", async () => {
  const { stripe, emulator, close } = await setup();
  try {
    const first = await stripe.customers.create({ email: "ada@example.com" }, {
      idempotencyKey: "key-1",
    });
    const second = await stripe.customers.create({ email: "ada@example.com" }, {
      idempotencyKey: "key-1",
    });
    assert.equal(second.id, first.id);
    assert.equal(header(second, "idempotent-replayed"), "true");
    assert.equal(header(second, "original-request"), first.lastResponse.requestId);
    assert.equal(header(first, "idempotent-replayed"), null);
    assert.equal(emulator.customers().length, 1);
  } finally {
    await close();
  }
});

Deno.test("an idempotency key reused with other parameters is an idempotency error", async () => {
  const { stripe, close } = await setup();
  try {
    await stripe.customers.create({ email: "ada@example.com" }, { idempotencyKey: "key-2" });
    const error = await rejects(
      stripe.customers.create({ email: "bob@example.com" }, { idempotencyKey: "key-2" }),
      Stripe.errors.StripeIdempotencyError,
    );
    assert.equal(error.statusCode, 400);
    assert.equal(error.type, "StripeIdempotencyError");
  } finally {
    await close();
  }
});

Deno.test("idempotency keys belong to one secret key", async () => {
  const running = await startStripeEmulator();
  try {
    const one = await clientFor(running, "sk_test_one").customers.create({}, {
      idempotencyKey: "shared",
    });
    const two = await clientFor(running, "sk_test_two").customers.create({}, {
      idempotencyKey: "shared",
    });
    assert.notEqual(one.id, two.id);
  } finally {
    await running.close();
  }
});

Deno.test("eight concurrent creates with one idempotency key make one customer", async () => {
  const { stripe, emulator, close } = await setup();
  try {
    emulator.failNext({ path: "/v1/customers", delayMs: 50 });
    const customers = await Promise.all(
      Array.from(
        { length: 8 },
        () =>
          stripe.customers.create({ email: "ada@example.com", metadata: { userId: "u" } }, {
            idempotencyKey: "double-click",
          }),
      ),
    );
    assert.equal(new Set(customers.map((customer) => customer.id)).size, 1);
    assert.equal(emulator.customers().length, 1);
    assert.equal(
      emulator.events().filter((event) => event.type === "customer.created").length,
      1,
    );
  } finally {
    await close();
  }
});

Deno.test("a request refused for its parameters is not kept, so a corrected retry runs", async () => {
  const { stripe, emulator, close } = await setup();
  try {
    const refused = await rejects(
      stripe.customers.create({ email: "ada" }, { idempotencyKey: "fix" }),
      Stripe.errors.StripeInvalidRequestError,
    );
    assert.equal(refused.code, "email_invalid");
    // Had the refusal been kept, other parameters under the same key would be an idempotency error.
    const corrected = await stripe.customers.create({ email: "ada@example.com" }, {
      idempotencyKey: "fix",
    });
    assert.equal(corrected.email, "ada@example.com");
    assert.equal(emulator.customers().length, 1);
  } finally {
    await close();
  }
});

Deno.test("the idempotency store runs a key once, replays it, and refuses other parameters", async () => {
  const store = new IdempotencyStore();
  let runs = 0;
  const execute = () => {
    runs += 1;
    return Promise.resolve({ status: 200, body: `{"run": ${runs}}`, store: true });
  };
  const first = await store.run("scope", "params-a", "req_1", execute);
  assert.deepEqual(first, { kind: "executed", answer: { status: 200, body: '{"run": 1}' } });
  const again = await store.run("scope", "params-a", "req_2", execute);
  assert.deepEqual(again, {
    kind: "replayed",
    answer: { status: 200, body: '{"run": 1}' },
    originalRequestId: "req_1",
  });
  assert.deepEqual(await store.run("scope", "params-b", "req_3", execute), { kind: "mismatch" });
  assert.equal(runs, 1);
});

Deno.test("the idempotency store makes a concurrent repeat wait for the first run", async () => {
  const store = new IdempotencyStore();
  let release = () => {};
  const gate = new Promise<void>((resolve) => (release = resolve));
  let runs = 0;
  const execute = async () => {
    runs += 1;
    await gate;
    return { status: 200, body: "{}", store: true };
  };
  const first = store.run("scope", "p", "req_1", execute);
  const second = store.run("scope", "p", "req_2", execute);
  release();
  const outcomes = await Promise.all([first, second]);
  assert.deepEqual(outcomes.map((outcome) => outcome.kind), ["executed", "replayed"]);
  assert.equal(runs, 1);
});

Deno.test("the idempotency store keeps no answer it is told not to, and forgets the oldest past capacity", async () => {
  const store = new IdempotencyStore(2);
  const answer = (store: boolean) => () => Promise.resolve({ status: 500, body: "{}", store });
  await store.run("fault", "p", "req_1", answer(false));
  assert.equal((await store.run("fault", "p", "req_2", answer(true))).kind, "executed");
  for (const scope of ["a", "b", "c"]) await store.run(scope, "p", "req", answer(true));
  assert.equal((await store.run("a", "p", "req", answer(true))).kind, "executed");
  assert.equal((await store.run("c", "p", "req", answer(true))).kind, "replayed");
});

Deno.test("Stripe keeps an answer once the endpoint ran: not a 5xx nor a refused request", () => {
  assert.equal(isStored({ status: 200, body: "{}" }), true);
  assert.equal(isStored({ status: 402, body: "{}" }), true);
  assert.equal(isStored({ status: 400, body: '{"error": {"type": "idempotency_error"}}' }), true);
  assert.equal(
    isStored({ status: 400, body: '{"error": {"type": "invalid_request_error"}}' }),
    false,
  );
  assert.equal(isStored({ status: 500, body: "{}" }), false);
});
