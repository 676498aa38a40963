/**
 * Faults of Stripe: an error status, a rate limit or a timeout on each call a function makes.
 * Each failing request answers 500 without Stripe's message and leaves no partial write, and a
 * retry then succeeds with one customer per user; the SDK's own retries ride out a single 5xx.
 */
import assert from "node:assert/strict";
import { actualBilling, assertSynced, ledgerCount, subscribe } from "./_support/billing.ts";
import { customersOf } from "./_support/emulator.ts";
import { INTERNAL_ERROR, rig, WEBHOOK_FAILED } from "./_support/fault_rig.ts";
import { emulatorClient, harnessTest } from "./_support/harness.ts";
import { answerOf, assertAnswer } from "./_support/responses.ts";
import { sleep } from "./_support/time.ts";

/** A Stripe fault: an error status, or a delay longer than the client's 300 ms timeout. */
interface StripeFault {
  name: string;
  status?: number;
  delayMs?: number;
}

const STRIPE_FAULTS: StripeFault[] = [
  { name: "a 500", status: 500 },
  { name: "a 429", status: 429 },
  { name: "a timeout", delayMs: 1000 },
];

/** The messages the emulator's injected faults carry; none may reach a response. */
const STRIPE_MESSAGES = ["injected fault", "rate limit", "Testing rate limit", "api_error"];

async function assertNoStripeMessage(response: Response, expected: Record<string, string>) {
  const text = await response.clone().text();
  for (const message of STRIPE_MESSAGES) {
    assert.ok(!text.includes(message), `response leaks "${message}": ${text}`);
  }
  await assertAnswer(response, 500, expected);
}

for (const fault of STRIPE_FAULTS) {
  harnessTest(
    `stripe-checkout answers 500 to ${fault.name} from Stripe when creating the customer, and the retry makes one customer`,
    async (h) => {
      const user = await h.createUser();
      const r = rig(h, { stripe: emulatorClient(h.stripeApiUrl, 0, 300) });
      try {
        h.emulator.failNext({ method: "POST", path: "/v1/customers", ...fault, count: 1 });
        await assertNoStripeMessage(await r.post(r.checkout, user.token), INTERNAL_ERROR);
        assert.equal((await h.profile(user.id)).stripe_customer_id, null);
        if (fault.delayMs) await sleep(fault.delayMs); // the late call completes at Stripe

        await answerOf(await r.post(r.checkout, user.token), 200);
        const customers = customersOf(h, user.id);
        assert.equal(customers.length, 1, "one customer after the retry");
        assert.equal((await h.profile(user.id)).stripe_customer_id, customers[0]);
      } finally {
        await r.close();
      }
    },
  );

  harnessTest(
    `stripe-checkout answers 500 to ${fault.name} from Stripe when creating the session, and the retry keeps the customer`,
    async (h) => {
      const user = await h.createUser();
      const r = rig(h, { stripe: emulatorClient(h.stripeApiUrl, 0, 300) });
      try {
        h.emulator.failNext({ method: "POST", path: "/v1/checkout/sessions", ...fault, count: 1 });
        const sessions = h.emulator.checkoutSessions().length;
        await assertNoStripeMessage(await r.post(r.checkout, user.token), INTERNAL_ERROR);
        const stored = (await h.profile(user.id)).stripe_customer_id;
        assert.ok(stored, "the customer made before the failure is kept");
        if (fault.delayMs) await sleep(fault.delayMs);
        else assert.equal(h.emulator.checkoutSessions().length, sessions);

        const body = await answerOf(await r.post(r.checkout, user.token), 200);
        assert.equal(typeof body.url, "string");
        assert.equal((await h.profile(user.id)).stripe_customer_id, stored);
        assert.equal(customersOf(h, user.id).length, 1);
      } finally {
        await r.close();
      }
    },
  );

  harnessTest(
    `stripe-portal answers 500 to ${fault.name} from Stripe, and the retry opens the portal`,
    async (h) => {
      const user = await h.createUser();
      await answerOf(await h.post(h.checkout, user.token), 200);
      const r = rig(h, { stripe: emulatorClient(h.stripeApiUrl, 0, 300) });
      try {
        h.emulator.failNext({ method: "POST", path: "/v1/billing_portal/sessions", ...fault });
        await assertNoStripeMessage(await r.post(r.portal, user.token), INTERNAL_ERROR);
        const body = await answerOf(await r.post(r.portal, user.token), 200);
        assert.equal(typeof body.url, "string");
      } finally {
        await r.close();
      }
    },
  );

  harnessTest(
    `stripe-webhook answers 500 to ${fault.name} from Stripe when re-reading the subscription, writes nothing, and the redelivery applies it`,
    async (h) => {
      const { user, subscription, completed } = await subscribe(h);
      const before = await actualBilling(h, user.id);
      const r = rig(h, { stripe: emulatorClient(h.stripeApiUrl, 0, 300) });
      try {
        h.emulator.failNext({
          method: "GET",
          path: `/v1/subscriptions/${subscription.id}`,
          ...fault,
        });
        await assertNoStripeMessage(await r.deliver(completed), WEBHOOK_FAILED);
        assert.equal(await ledgerCount(h, completed.id), 0);
        assert.deepEqual(await actualBilling(h, user.id), before);

        await assertAnswer(await r.deliver(completed), 200, { received: true });
        assert.equal(await ledgerCount(h, completed.id), 1);
        await assertSynced(h, user.id, subscription.id);
      } finally {
        await r.close();
      }
    },
  );
}

// The SDK retries 409 and 5xx (and what Stripe marks `Stripe-Should-Retry: true`), not a bare 429:
// that one is the 500 of the fault tests above, and the user's retry makes one customer.
for (const status of [500, 503]) {
  harnessTest(
    `stripe-checkout with SDK retries rides out a single ${status} from Stripe with one customer`,
    async (h) => {
      const user = await h.createUser();
      const r = rig(h, { stripe: emulatorClient(h.stripeApiUrl, 2, 5000) });
      try {
        const mark = h.emulator.requests().length;
        h.emulator.failNext({ method: "POST", path: "/v1/customers", status, count: 1 });
        const body = await answerOf(await r.post(r.checkout, user.token), 200);
        assert.equal(typeof body.url, "string");
        const calls = h.emulator.requests().slice(mark).filter((call) =>
          call.method === "POST" && call.path === "/v1/customers"
        );
        assert.deepEqual(calls.map((call) => call.status), [status, 200]);
        assert.ok(calls[0]?.idempotencyKey);
        assert.equal(calls[1]?.idempotencyKey, calls[0]?.idempotencyKey, "the same key");
        const customers = customersOf(h, user.id);
        assert.equal(customers.length, 1);
        assert.equal((await h.profile(user.id)).stripe_customer_id, customers[0]);
      } finally {
        await r.close();
      }
    },
  );
}
