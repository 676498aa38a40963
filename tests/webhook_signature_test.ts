/**
 * The webhook reads only what Stripe signed: a missing, forged, stale or mismatched signature,
 * a body that is not JSON, and a signed body without an event's shape are refused with 400, and
 * nothing is written.
 */
import assert from "node:assert/strict";
import { signPayload } from "../dev/stripe/mod.ts";
import { ledgerCount, subscribe } from "./_support/billing.ts";
import { type Harness, harnessTest, WEBHOOK_SECRET } from "./_support/harness.ts";
import { assertAnswer } from "./_support/responses.ts";
import { assertInvalidSignature, deliverOk, postRaw } from "./_support/webhook.ts";

interface SignatureCase {
  name: string;
  send(h: Harness, body: string): Promise<Response>;
}

const SIGNATURE_CASES: SignatureCase[] = [
  {
    name: "without a stripe-signature header",
    send: (h, body) => postRaw(h, body, { "Content-Type": "application/json" }),
  },
  {
    name: "with a stripe-signature header of garbage",
    send: (h, body) => postRaw(h, body, { "Stripe-Signature": "garbage" }),
  },
  {
    name: "with a stripe-signature header without a timestamp or signature",
    send: (h, body) => postRaw(h, body, { "Stripe-Signature": "t=abc,v1=" }),
  },
  {
    name: "with a body signed with another secret",
    send: (h, body) => h.deliver(body, { secret: "whsec_someone_else" }),
  },
  {
    name: "with a stale timestamp (301 seconds old)",
    send: (h, body) => h.deliver(body, { timestamp: Math.floor(Date.now() / 1000) - 301 }),
  },
  {
    name: "with a body altered after signing",
    send: async (h, body) => {
      const signature = await signPayload(body, WEBHOOK_SECRET);
      const altered = body.replace(`"complete"`, `"completE"`);
      assert.notEqual(altered, body);
      return postRaw(h, altered, { "Stripe-Signature": signature });
    },
  },
  {
    name: "with a valid signature of a different body",
    send: async (h, body) => {
      const other = JSON.stringify({ ...JSON.parse(body), id: "evt_other" });
      const signature = await signPayload(other, WEBHOOK_SECRET);
      return postRaw(h, body, { "Stripe-Signature": signature });
    },
  },
];

for (const signatureCase of SIGNATURE_CASES) {
  harnessTest(
    `stripe-webhook answers 400 ${signatureCase.name} and writes nothing`,
    async (h) => {
      const subscribed = await subscribe(h);
      const event = subscribed.completed;
      const before = await h.profile(subscribed.user.id);

      await assertInvalidSignature(await signatureCase.send(h, JSON.stringify(event)));

      assert.equal(await ledgerCount(h, event.id), 0);
      assert.deepEqual(await h.profile(subscribed.user.id), before);
      // The same event, correctly signed, is applied: the refusal was the signature's doing.
      await deliverOk(h, event);
      assert.equal(await ledgerCount(h, event.id), 1);
      assert.equal((await h.profile(subscribed.user.id)).subscription_status, "active");
    },
  );
}

harnessTest("stripe-webhook answers 400 to a validly signed body that is not JSON", async (h) => {
  const response = await h.deliver("this is not json {");
  await assertAnswer(response, 400, { error: "Invalid payload" });
});

harnessTest(
  "a signed event without the shape of a Stripe event answers 400 and writes nothing",
  async (h) => {
    const id = `evt_malformed_${crypto.randomUUID().slice(0, 8)}`;
    const bodies = [
      {},
      { id, type: "customer.subscription.updated" },
      { id, type: "customer.subscription.updated", data: null },
      { id, type: "customer.subscription.updated", data: { object: "sub_1" } },
    ];
    for (const body of bodies) {
      const response = await h.deliver(body);
      assert.equal(response.status, 400, JSON.stringify(body));
      await assertAnswer(response, 400, { error: "Invalid payload" });
    }
    const shapeless = await h.deliver({
      id,
      type: "customer.subscription.updated",
      data: { object: {} },
    });
    assert.equal(shapeless.status, 200);
    await shapeless.body?.cancel();
    assert.equal(await ledgerCount(h, id), 0);
  },
);
