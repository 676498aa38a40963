import assert from "node:assert/strict";
import { parseForm } from "../../dev/stripe/form.ts";

Deno.test("the form parser builds nested objects and arrays from Stripe's bracket syntax", () => {
  const params = parseForm(
    "metadata[userId]=u1&line_items[0][price]=p&line_items[0][quantity]=1" +
      "&allowed_payment_method_types[0]=card&subscription_data[metadata][userId]=u1" +
      "&expand[]=a&expand[]=b&mode=subscription",
  );
  assert.deepEqual(params, {
    metadata: { userId: "u1" },
    line_items: [{ price: "p", quantity: "1" }],
    allowed_payment_method_types: ["card"],
    subscription_data: { metadata: { userId: "u1" } },
    expand: ["a", "b"],
    mode: "subscription",
  });
});

Deno.test("the form parser keeps __proto__ and constructor keys as data, never reaching a prototype", () => {
  const params = parseForm(
    "a[__proto__][polluted]=1&constructor[prototype][polluted]=2&__proto__[polluted]=3",
  );
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
  assert.equal(Object.getPrototypeOf(params), Object.prototype);
  assert.deepEqual(Object.keys(params).sort(), ["__proto__", "a", "constructor"]);
  const nested = params.a as Record<string, unknown>;
  assert.ok(Object.hasOwn(nested, "__proto__"));
});
