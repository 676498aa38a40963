import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import {
  KeyCachingCryptoProvider,
  Stripe,
  verifyWebhook,
  withoutCallerStack,
} from "../supabase/functions/_shared/stripe.ts";
import { closeHarness, harnessTest } from "./harness.ts";

Deno.test("withoutCallerStack captures no frames inside the call and restores the limit", () => {
  const before = Error.stackTraceLimit;
  const inside = withoutCallerStack(() => new Error("probe").stack ?? "");
  assert.equal(inside.includes("\n    at "), false);
  assert.equal(Error.stackTraceLimit, before);
  assert.ok((new Error("after").stack ?? "").includes("\n    at "), "frames are back afterwards");
});

Deno.test("withoutCallerStack restores the limit when the call throws", () => {
  const before = Error.stackTraceLimit;
  assert.throws(() =>
    withoutCallerStack(() => {
      throw new TypeError("boom");
    }), TypeError);
  assert.equal(Error.stackTraceLimit, before);
});

Deno.test("KeyCachingCryptoProvider gives the SDK's documented sample signatures", async () => {
  const provider = new KeyCachingCryptoProvider();
  assert.equal(
    await provider.computeHMACSignatureAsync("", "test_secret"),
    "f7f9bd47fb987337b5796fdc1fdb9ba221d0d5396814bfcaf9521f43fd8927fd",
  );
  assert.equal(
    await provider.computeHMACSignatureAsync("\ud83d\ude00", "test_secret"),
    "837da296d05c4fe31f61d5d7ead035099d9585a5bcde87de952012a78f0b0c43",
  );
});

Deno.test("KeyCachingCryptoProvider signs with the secret it is given, key cached or not", async () => {
  const provider = new KeyCachingCryptoProvider();
  for (let i = 0; i < 40; i++) {
    const secret = `whsec_${i % 3}`;
    const payload = `{"id":"evt_${i}","n":${i},"s":"é ✓"}`;
    assert.equal(
      await provider.computeHMACSignatureAsync(payload, secret),
      createHmac("sha256", secret).update(payload).digest("hex"),
      `payload ${i} with ${secret}`,
    );
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

harnessTest("an SDK call made withoutCallerStack resolves as usual", async (h) => {
  const customer = await withoutCallerStack(() => h.stripe.customers.create({ email: "a@b.co" }));
  assert.match(customer.id, /^cus_/);
  const read = await withoutCallerStack(() => h.stripe.customers.retrieve(customer.id));
  assert.equal(read.id, customer.id);
});

harnessTest(
  "an SDK error made withoutCallerStack is still a typed Stripe error with a stack",
  async (h) => {
    const before = Error.stackTraceLimit;
    const error = await withoutCallerStack(() => h.stripe.subscriptions.retrieve("sub_missing"))
      .then(() => undefined, (error: unknown) => error);
    assert.ok(error instanceof Stripe.errors.StripeInvalidRequestError);
    assert.equal(error.statusCode, 404);
    assert.ok((error.stack ?? "").includes("\n    at "), "the error keeps the SDK's own frames");
    assert.equal(Error.stackTraceLimit, before);
  },
);

closeHarness();
