/**
 * Bodies a valid caller may send are read for their options only (`price`, `flow`): whatever
 * else checkout and portal are sent, Stripe gets the functions' own parameters and the user gets
 * one customer; a price the functions do not sell and a body over 16 KiB are refused.
 */
import assert from "node:assert/strict";
import { DEFAULT_PRICE_ID } from "../dev/stripe/mod.ts";
import { customerCreationsOf, portalRequestsOf, sessionRequestsOf } from "./_support/emulator.ts";
import { harnessTest, SITE_URL } from "./_support/harness.ts";
import { answerOf, assertAnswer } from "./_support/responses.ts";

const MIB = 1024 * 1024;

const IGNORED_BODIES: [string, () => RequestInit][] = [
  ["overrides of customer, mode, line items and URLs", () => ({
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({
      priceId: "price_attacker",
      line_items: [{ price: "price_attacker", quantity: 100 }],
      customer: "cus_attacker",
      mode: "payment",
      success_url: "https://attacker.example/",
      return_url: "https://attacker.example/",
    }),
  })],
  ["`__proto__` and `constructor` keys", () => ({
    headers: { "Content-Type": "application/json" },
    body: '{"__proto__":{"priceId":"price_attacker"},"constructor":{"prototype":{"x":1}}}',
  })],
  ["a body that is not UTF-8", () => ({ body: new Uint8Array([0xff, 0xfe, 0xc3, 0x28]) })],
  // Deep nesting just under the 16 KiB an options body may have.
  ["8 000 nested arrays", () => ({ body: "[".repeat(8_000) + "]".repeat(8_000) })],
  ["a form-encoded override", () => ({
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: "price=price_attacker&customer=cus_attacker",
  })],
];

harnessTest(
  "stripe-checkout and stripe-portal ignore hostile bodies from a valid caller: Stripe gets our own parameters",
  async (h) => {
    const user = await h.createUser();
    for (const [name, init] of IGNORED_BODIES) {
      const response = await h.post(h.checkout, user.token, init());
      assert.equal(response.status, 200, `checkout with ${name}`);
      assert.ok(typeof (await answerOf(response, 200)).url === "string");
    }
    const customerId = (await h.profile(user.id)).stripe_customer_id;
    assert.ok(customerId);
    const sessions = sessionRequestsOf(h, user.id);
    assert.equal(sessions.length, IGNORED_BODIES.length);
    for (const { params } of sessions) {
      assert.equal(params.mode, "subscription");
      assert.deepEqual(params.line_items, [{ price: DEFAULT_PRICE_ID, quantity: "1" }]);
      assert.equal(params.customer, customerId);
      assert.deepEqual(params.metadata, { userId: user.id, email: user.email });
      assert.equal(params.cancel_url, `${SITE_URL}/dashboard?checkout=canceled`);
      assert.ok(String(params.success_url).startsWith(`${SITE_URL}/dashboard?`));
    }
    const customers = customerCreationsOf(h, user.id);
    assert.equal(customers.length, 1, "one customer, whatever the bodies said");

    for (const [name, init] of IGNORED_BODIES) {
      const response = await h.post(h.portal, user.token, init());
      assert.equal(response.status, 200, `portal with ${name}`);
      assert.ok(typeof (await answerOf(response, 200)).url === "string");
    }
    const portals = portalRequestsOf(h, customerId);
    assert.equal(portals.length, IGNORED_BODIES.length);
    for (const { params } of portals) {
      assert.deepEqual(params, { customer: customerId, return_url: `${SITE_URL}/dashboard` });
    }
  },
);

harnessTest(
  "stripe-checkout refuses a price it does not sell and a body over 16 KiB, and the portal such a body, before any Stripe write",
  async (h) => {
    const user = await h.createUser();
    const mark = h.emulator.requests().length;
    const attacker = await h.post(h.checkout, user.token, {
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ price: "price_attacker", mode: "payment" }),
    });
    await assertAnswer(attacker, 400, { error: "Unknown price" });
    const huge = await h.post(h.checkout, user.token, { body: "x".repeat(2 * MIB) });
    await assertAnswer(huge, 413, { error: "Payload too large" });
    assert.equal(h.emulator.requests().length, mark, "a refused body reached Stripe");
    assert.equal((await h.profile(user.id)).stripe_customer_id, null);

    assert.equal((await h.post(h.checkout, user.token)).status, 200);
    const customerId = (await h.profile(user.id)).stripe_customer_id;
    assert.ok(customerId);
    const portal = await h.post(h.portal, user.token, { body: "x".repeat(2 * MIB) });
    await assertAnswer(portal, 413, { error: "Payload too large" });
    assert.equal(portalRequestsOf(h, customerId).length, 0);
  },
);
