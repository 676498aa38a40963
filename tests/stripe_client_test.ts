import assert from "node:assert/strict";
import { Stripe, withoutCallerStack } from "../supabase/functions/_shared/stripe.ts";
import { harnessTest } from "./harness.ts";

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

harnessTest("an SDK call made withoutCallerStack resolves as usual", async (h) => {
  const customer = await withoutCallerStack(() => h.stripe.customers.create({ email: "a@b.co" }));
  assert.match(customer.id, /^cus_/);
  const read = await withoutCallerStack(() => h.stripe.customers.retrieve(customer.id));
  assert.equal(read.id, customer.id);
});

harnessTest(
  "an SDK error made withoutCallerStack is still a typed Stripe error with a stack",
  async (h) => {
    const error = await withoutCallerStack(() => h.stripe.subscriptions.retrieve("sub_missing"))
      .then(() => undefined, (error: unknown) => error);
    assert.ok(error instanceof Stripe.errors.StripeInvalidRequestError);
    assert.equal(error.statusCode, 404);
    assert.ok((error.stack ?? "").includes("\n    at "), "the error keeps the SDK's own frames");
    assert.equal(Error.stackTraceLimit >= 1, true);
  },
);
