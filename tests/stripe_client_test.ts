import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { Stripe, verifyWebhook } from "../supabase/functions/_shared/stripe.ts";

/** A `stripe-signature` header computed independently of the SDK, with Node's HMAC. */
function signedHeader(payload: string, secret: string, timestamp = Math.floor(Date.now() / 1000)) {
  const v1 = createHmac("sha256", secret).update(`${timestamp}.${payload}`).digest("hex");
  return `t=${timestamp},v1=${v1}`;
}

Deno.test("verifyWebhook accepts signatures made with each secret it is given", async () => {
  const stripe = new Stripe("sk_test_unused");
  for (let i = 0; i < 12; i++) {
    const secret = `whsec_${i % 3}`;
    const payload = JSON.stringify({ id: `evt_${i}`, object: "event", type: "ping", data: {} });
    const event = await verifyWebhook(stripe, payload, signedHeader(payload, secret), secret);
    assert.equal(event.id, `evt_${i}`, `payload ${i} with ${secret}`);
  }
});

Deno.test("verifyWebhook accepts the right secret and refuses another one after both were used", async () => {
  const stripe = new Stripe("sk_test_unused");
  const payload = JSON.stringify({ id: "evt_1", object: "event", type: "ping", data: {} });
  const signature = await stripe.webhooks.generateTestHeaderStringAsync({
    payload,
    secret: "whsec_right",
  });
  const event = await verifyWebhook(stripe, payload, signature, "whsec_right");
  assert.equal(event.id, "evt_1");
  await assert.rejects(
    verifyWebhook(stripe, payload, signature, "whsec_other"),
    Stripe.errors.StripeSignatureVerificationError,
  );
  assert.equal((await verifyWebhook(stripe, payload, signature, "whsec_right")).id, "evt_1");
});

Deno.test("verifyWebhook refuses a signature older than five minutes", async () => {
  const stripe = new Stripe("sk_test_unused");
  const payload = JSON.stringify({ id: "evt_old", object: "event", type: "ping", data: {} });
  const stale = signedHeader(payload, "whsec_x", Math.floor(Date.now() / 1000) - 301);
  await assert.rejects(
    verifyWebhook(stripe, payload, stale, "whsec_x"),
    Stripe.errors.StripeSignatureVerificationError,
  );
});
