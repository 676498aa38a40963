import assert from "node:assert/strict";
import { customerCreationsOf, customersOf, sessionRequestsOf } from "./_support/emulator.ts";
import { harnessTest } from "./_support/harness.ts";
import { answerOf } from "./_support/responses.ts";

/** Supabase Auth takes this address; Stripe refuses it (no top-level domain). */
const REFUSED_BY_STRIPE = "someone@intranet";

harnessTest(
  "a user whose email Stripe refuses gets a customer without it and can subscribe",
  async (h) => {
    const user = await h.createUser(REFUSED_BY_STRIPE);
    const body = await answerOf(await h.post(h.checkout, user.token), 200);
    assert.match(String(body.url), /^http/);

    const creations = customerCreationsOf(h, user.id);
    assert.deepEqual(creations.map((request) => [request.status, request.params.email]), [
      [400, REFUSED_BY_STRIPE],
      [200, undefined],
    ]);
    const [customerId] = customersOf(h, user.id);
    assert.ok(customerId);
    assert.equal((await h.profile(user.id)).stripe_customer_id, customerId);
    const customer = await h.stripe.customers.retrieve(customerId);
    assert.ok(!customer.deleted);
    assert.equal(customer.email, null);
    const [session] = sessionRequestsOf(h, user.id);
    assert.equal(session?.params.customer, customerId);
  },
);

harnessTest(
  "concurrent first checkouts of a user whose email Stripe refuses still make one customer",
  async (h) => {
    const user = await h.createUser(`other-${crypto.randomUUID().slice(0, 8)}@intranet`);
    const answers = await Promise.all(
      Array.from({ length: 6 }, () => h.post(h.checkout, user.token)),
    );
    for (const response of answers) await answerOf(response, 200);
    assert.equal(customersOf(h, user.id).length, 1);
  },
);
