import assert from "node:assert/strict";
import { ledgerCount } from "./_support/billing.ts";
import { syntheticEvent } from "./_support/emulator.ts";
import { harnessTest } from "./_support/harness.ts";
import { deliverOk } from "./_support/webhook.ts";

const GONE = "sub_gone_never_existed";

const CASES: [string, (userId: string) => Record<string, unknown>][] = [
  [
    "customer.subscription.updated",
    (userId) =>
      syntheticEvent("customer.subscription.updated", {
        id: GONE,
        object: "subscription",
        metadata: { userId },
      }),
  ],
  [
    "invoice.paid",
    (userId) =>
      syntheticEvent("invoice.paid", {
        id: "in_gone",
        object: "invoice",
        parent: {
          type: "subscription_details",
          subscription_details: { subscription: GONE, metadata: { userId } },
        },
      }),
  ],
  [
    "checkout.session.completed",
    (userId) =>
      syntheticEvent("checkout.session.completed", {
        id: "cs_gone",
        object: "checkout.session",
        mode: "subscription",
        subscription: GONE,
        client_reference_id: userId,
        metadata: { userId },
      }),
  ],
];

for (const [type, build] of CASES) {
  harnessTest(
    `stripe-webhook records a signed ${type} whose subscription Stripe no longer has, logs it and answers 200`,
    async (h) => {
      const user = await h.createUser();
      const before = await h.profile(user.id);
      const gone = build(user.id);
      const eventId = String(gone.id);
      const logMark = h.logs.length;
      for (let delivery = 0; delivery < 2; delivery++) await deliverOk(h, gone);
      assert.deepEqual(await h.profile(user.id), before);
      assert.equal(await ledgerCount(h, eventId), 1);
      const lines = h.logs.slice(logMark).map((line) => JSON.parse(line));
      assert.deepEqual(
        lines.map((line) => [line.eventId, line.eventOutcome, line.status]),
        [[eventId, "gone", 200], [eventId, "duplicate", 200]],
      );
    },
  );
}
