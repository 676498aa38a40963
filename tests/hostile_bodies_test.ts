/**
 * Bodies a valid caller may send are ignored: whatever checkout and portal are sent, Stripe gets
 * the functions' own parameters and the user gets one customer.
 */
import assert from "node:assert/strict";
import { DEFAULT_PRICE_ID } from "../dev/stripe/mod.ts";
import { customerCreationsOf, portalRequestsOf, sessionRequestsOf } from "./_support/emulator.ts";
import { harnessTest, SITE_URL } from "./_support/harness.ts";
import { answerOf } from "./_support/responses.ts";

const MIB = 1024 * 1024;

const IGNORED_BODIES: [string, () => RequestInit][] = [
  ["overrides of price, customer, mode and URLs", () => ({
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({
      priceId: "price_attacker",
      price: "price_attacker",
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
  ["a 2 MiB body", () => ({ body: "x".repeat(2 * MIB) })],
  ["a body that is not UTF-8", () => ({ body: new Uint8Array([0xff, 0xfe, 0xc3, 0x28]) })],
  ["100 000 nested arrays", () => ({ body: "[".repeat(100_000) + "]".repeat(100_000) })],
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
