import assert from "node:assert/strict";
import { harness, harnessTest } from "./harness.ts";

Deno.test.afterAll(async () => await (await harness()).close());

function event(type: string, object: Record<string, unknown>) {
  return {
    id: `evt_gone_${crypto.randomUUID().replaceAll("-", "")}`,
    object: "event",
    api_version: "2026-10-28.endive",
    created: Math.floor(Date.now() / 1000),
    data: { object },
    livemode: false,
    pending_webhooks: 1,
    request: { id: null, idempotency_key: null },
    type,
  };
}

const GONE = "sub_gone_never_existed";

const CASES: [string, (userId: string) => ReturnType<typeof event>][] = [
  [
    "customer.subscription.updated",
    (userId) =>
      event("customer.subscription.updated", {
        id: GONE,
        object: "subscription",
        metadata: { userId },
      }),
  ],
  [
    "invoice.paid",
    (userId) =>
      event("invoice.paid", {
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
      event("checkout.session.completed", {
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
      const logMark = h.logs.length;
      for (let delivery = 0; delivery < 2; delivery++) {
        const response = await h.deliver(gone);
        assert.equal(response.status, 200);
        assert.deepEqual(await response.json(), { received: true });
      }
      assert.deepEqual(await h.profile(user.id), before);
      const [ledger] = await h.sql<{ n: number }[]>`
        select count(*)::int as n from public.stripe_events where id = ${gone.id}`;
      assert.equal(ledger?.n, 1);
      const lines = h.logs.slice(logMark).map((line) => JSON.parse(line));
      assert.deepEqual(
        lines.map((line) => [line.eventId, line.eventOutcome, line.status]),
        [[gone.id, "gone", 200], [gone.id, "duplicate", 200]],
      );
    },
  );
}
