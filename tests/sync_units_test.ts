import assert from "node:assert/strict";
import { connect } from "../dev/postgres.ts";
import { startDatabase } from "../dev/database.ts";
import type { ProfileBilling } from "../supabase/functions/_shared/db.ts";
import {
  outranks,
  type ProfileUpdate,
  type SubscriptionRank,
} from "../supabase/functions/_shared/subscription.ts";
import {
  decodeCursor,
  encodeCursor,
  nextStep,
  SYNC_STEPS,
} from "../supabase/functions/stripe-sync/cursor.ts";
import { compareProfile, planPage } from "../supabase/functions/stripe-sync/reconcile.ts";
import { mulberry32 } from "./_support/random.ts";

const USER_A = "0b5f3c9e-8a57-4c1e-9f4e-2d7f3c1a9b10";
const USER_B = "7d1e6a44-3f0b-4c8e-8d3a-5b9c2e1f0a77";

function update(fields: Partial<ProfileUpdate>): ProfileUpdate {
  return {
    subscriptionId: "sub_1",
    customerId: "cus_1",
    status: "active",
    priceId: "price_1",
    currentPeriodEnd: new Date(1_702_592_000_000),
    cancelAtPeriodEnd: false,
    cancelAt: null,
    canceledAt: null,
    trialEnd: null,
    createdAt: new Date(1_700_000_000_000),
    userId: USER_A,
    ...fields,
  };
}

/** The profile that holds `u` exactly. */
function profileOf(u: ProfileUpdate, id = u.userId ?? USER_A): ProfileBilling {
  return {
    id,
    stripe_customer_id: u.customerId,
    stripe_subscription_id: u.subscriptionId,
    subscription_status: u.status,
    price_id: u.priceId,
    current_period_end: u.currentPeriodEnd,
    cancel_at_period_end: u.cancelAtPeriodEnd,
    cancel_at: u.cancelAt,
    canceled_at: u.canceledAt,
    trial_end: u.trialEnd,
    subscription_created_at: u.createdAt,
  };
}

Deno.test("a sync cursor reads back as it was written", () => {
  for (const step of SYNC_STEPS) {
    for (const after of [null, "sub_1MzX", "evt_A_b_9"]) {
      const cursor = { step, after, since: 1_764_000_000 };
      const text = encodeCursor(cursor);
      assert.match(text, /^[A-Za-z0-9_-]+$/);
      assert.deepEqual(decodeCursor(text), cursor);
    }
  }
  assert.equal(nextStep("tasks"), "replay");
  assert.equal(nextStep("catalog"), null);
});

Deno.test("a sync cursor that was not written by the sync is refused", () => {
  const encode = (value: unknown) =>
    btoa(JSON.stringify(value)).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
  const bad = [
    "",
    "!!!",
    "a".repeat(2000),
    encode(null),
    encode([]),
    encode({ step: "drop", after: null, since: 1 }),
    encode({ step: "replay", after: "sub'; --", since: 1 }),
    encode({ step: "replay", after: 7, since: 1 }),
    encode({ step: "replay", after: null, since: -1 }),
    encode({ step: "replay", after: null, since: 1.5 }),
    encode({ step: "replay", after: null }),
  ];
  for (const text of bad) assert.throws(() => decodeCursor(text), TypeError, text);
});

Deno.test("compareProfile names every billing column that differs, and none that matches", () => {
  const stripe = update({});
  assert.deepEqual(compareProfile(profileOf(stripe), stripe), []);
  const stale = {
    ...profileOf(stripe),
    subscription_status: "canceled",
    cancel_at_period_end: true,
    current_period_end: new Date(1_699_000_000_000),
    trial_end: new Date(1_700_100_000_000),
  };
  assert.deepEqual(compareProfile(stale, stripe), [
    {
      userId: USER_A,
      subscriptionId: "sub_1",
      field: "subscription_status",
      database: "canceled",
      stripe: "active",
    },
    {
      userId: USER_A,
      subscriptionId: "sub_1",
      field: "current_period_end",
      database: "2023-11-03T08:26:40.000Z",
      stripe: "2023-12-14T22:13:20.000Z",
    },
    {
      userId: USER_A,
      subscriptionId: "sub_1",
      field: "cancel_at_period_end",
      database: true,
      stripe: false,
    },
    {
      userId: USER_A,
      subscriptionId: "sub_1",
      field: "trial_end",
      database: "2023-11-16T02:00:00.000Z",
      stripe: null,
    },
  ]);
});

Deno.test("planPage expects each profile to hold its best subscription of the page", () => {
  const old = update({ subscriptionId: "sub_old", status: "canceled" });
  const live = update({ subscriptionId: "sub_new", createdAt: new Date(1_700_000_100_000) });
  const other = update({ subscriptionId: "sub_b", customerId: "cus_b", userId: USER_B });
  const stranger = update({ subscriptionId: "sub_x", customerId: "cus_x", userId: null });
  const plan = planPage([old, live, other, stranger], [profileOf(old), profileOf(other)]);
  assert.deepEqual(
    plan.expected.map(({ profile, update }) => [profile.id, update.subscriptionId]),
    [[USER_A, "sub_new"], [USER_B, "sub_b"]],
  );
  assert.deepEqual(plan.unmatched.map((u) => u.subscriptionId), ["sub_x"]);
});

Deno.test("planPage finds a profile by customer when the subscription names no user", () => {
  const byCustomer = update({ userId: null });
  const plan = planPage([byCustomer], [profileOf(update({}))]);
  assert.equal(plan.expected.length, 1);
  assert.equal(plan.unmatched.length, 0);
});

Deno.test("planPage leaves a profile alone whose subscription elsewhere outranks the page's", () => {
  const held = update({ subscriptionId: "sub_live", createdAt: new Date(1_700_000_500_000) });
  const older = update({ subscriptionId: "sub_older", status: "canceled" });
  assert.deepEqual(planPage([older], [profileOf(held)]).expected, []);
  const newerLive = update({ subscriptionId: "sub_newer", createdAt: new Date(1_700_009_000_000) });
  assert.deepEqual(
    planPage([newerLive], [profileOf(held)]).expected.map((e) => e.update.subscriptionId),
    ["sub_newer"],
  );
});

Deno.test("outranks ranks subscriptions exactly as the database's write does", async () => {
  const database = await startDatabase({ serverUrl: Deno.env.get("DATABASE_URL") || undefined });
  const sql = connect(database.url);
  try {
    const rng = mulberry32(20261201);
    const pick = <T>(items: readonly T[]): T => items[Math.floor(rng() * items.length)] as T;
    const statuses = ["active", "trialing", "past_due", "canceled", "incomplete"] as const;
    const second = () => new Date((1_700_000_000 + Math.floor(rng() * 3)) * 1000);
    const id = () => `sub_${pick(["a", "b", "A", "B", "0", "9", "_"])}${Math.floor(rng() * 3)}`;
    // A candidate comes from Stripe (always a status and a creation time); the profile's held
    // subscription may lack either.
    const pairs = Array.from({ length: 500 }, () => ({
      candidate: { status: pick(statuses), createdAt: second(), subscriptionId: id() },
      held: {
        status: rng() < 0.1 ? null : pick(statuses),
        createdAt: rng() < 0.1 ? null : second(),
        subscriptionId: id(),
      } satisfies SubscriptionRank,
    }));
    const rows = await sql<{ above: boolean }[]>`
      select (
          c_status = any(array['active','trialing','past_due','unpaid','paused']),
          c_created, c_id collate "C"
        ) > (
          coalesce(h_status = any(array['active','trialing','past_due','unpaid','paused']), false),
          coalesce(h_created, '-infinity'), h_id collate "C"
        ) as above
      from unnest(
        ${pairs.map((p) => p.candidate.status)}::text[],
        ${pairs.map((p) => p.candidate.createdAt.toISOString())}::timestamptz[],
        ${pairs.map((p) => p.candidate.subscriptionId)}::text[],
        ${pairs.map((p) => p.held.status)}::text[],
        ${pairs.map((p) => p.held.createdAt?.toISOString() ?? null)}::timestamptz[],
        ${pairs.map((p) => p.held.subscriptionId)}::text[]
      ) with ordinality as t(c_status, c_created, c_id, h_status, h_created, h_id, n)
      order by n`;
    assert.equal(rows.length, pairs.length);
    pairs.forEach(({ candidate, held }, index) => {
      assert.equal(
        outranks(candidate, held),
        rows[index]?.above,
        `${JSON.stringify(candidate)} against ${JSON.stringify(held)}`,
      );
    });
  } finally {
    await sql.end();
    await database.close();
  }
});
