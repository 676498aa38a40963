/**
 * Faults of the database: the connection dropped, reset or left unanswered at any point of a
 * request, a statement timeout, a restart, a database that refuses connections. Each failing
 * request answers 500 and leaves no partial write, and a retry (Stripe's redelivery, the user's
 * second click) then succeeds. The faults come from a TCP proxy in front of the test database;
 * every check of what was written reads through the harness's direct connection.
 */
import assert from "node:assert/strict";
import { statement } from "../supabase/functions/_shared/pg/mod.ts";
import type { Stripe } from "../supabase/functions/_shared/stripe.ts";
import { actualBilling, assertSynced, ledgerCount, subscribe } from "./_support/billing.ts";
import { customersOf } from "./_support/emulator.ts";
import { INTERNAL_ERROR, rig, WEBHOOK_FAILED } from "./_support/fault_rig.ts";
import { harnessTest } from "./_support/harness.ts";
import { answerOf, assertAnswer } from "./_support/responses.ts";
import { sleep } from "./_support/time.ts";

const ON_SERVER = Boolean(Deno.env.get("DATABASE_URL"));
/** The statement of the webhook's profile write, and of checkout's customer save. */
const PROFILE_WRITE = "update public.profiles p set";
const CUSTOMER_SAVE = "update public.profiles set stripe_customer_id";

harnessTest(
  "stripe-webhook answers 500 and writes nothing when the connection drops at the profile update, and the redelivery applies the event",
  async (h) => {
    const { user, subscription, completed } = await subscribe(h);
    const before = await actualBilling(h, user.id);
    const r = rig(h);
    try {
      r.proxy.dropWhenClientSends(PROFILE_WRITE);
      await assertAnswer(await r.deliver(completed), 500, WEBHOOK_FAILED);
      assert.equal(r.proxy.dropped, 1, "the proxy cut the connection at the update");
      assert.equal(await ledgerCount(h, completed.id), 0, "the ledger row was rolled back");
      assert.deepEqual(await actualBilling(h, user.id), before);

      r.proxy.dropWhenClientSends(null);
      await assertAnswer(await r.deliver(completed), 200, { received: true });
      assert.equal(await ledgerCount(h, completed.id), 1);
      await assertSynced(h, user.id, subscription.id);
      // A third delivery is a duplicate: still one row, same profile.
      await assertAnswer(await r.deliver(completed), 200, { received: true });
      assert.equal(await ledgerCount(h, completed.id), 1);
    } finally {
      await r.close();
    }
  },
);

// A reset rather than an orderly close: the client must fail the request at once.
harnessTest(
  "stripe-webhook answers 500 when the connection is reset (RST) at the profile update",
  async (h) => {
    const { user, completed } = await subscribe(h);
    const before = await actualBilling(h, user.id);
    const r = rig(h);
    try {
      r.proxy.cutMode = "reset";
      r.proxy.dropWhenClientSends(PROFILE_WRITE);
      await assertAnswer(await r.deliver(completed), 500, WEBHOOK_FAILED);
      assert.equal(await ledgerCount(h, completed.id), 0);
      assert.deepEqual(await actualBilling(h, user.id), before);
    } finally {
      await r.close();
    }
  },
);

harnessTest(
  "stripe-webhook answers 500 when the commit's answer is lost, and the redelivery finds the event applied once",
  async (h) => {
    // The profile write carries the COMMIT; here it reaches the database, only the answer is cut.
    const { user, subscription, completed } = await subscribe(h);
    const r = rig(h);
    try {
      r.proxy.dropAnswerTo("commit");
      await assertAnswer(await r.deliver(completed), 500, WEBHOOK_FAILED);
      assert.equal(r.proxy.dropped, 1);
      assert.equal(await ledgerCount(h, completed.id), 1);
      await assertSynced(h, user.id, subscription.id);

      r.proxy.dropAnswerTo(null);
      await assertAnswer(await r.deliver(completed), 200, { received: true });
      assert.equal(await ledgerCount(h, completed.id), 1);
      await assertSynced(h, user.id, subscription.id);
    } finally {
      await r.close();
    }
  },
);

harnessTest(
  "stripe-webhook cut at any byte of its conversation answers 500 with nothing written, or 200 with the event applied",
  async (h) => {
    // Measure a whole delivery's client bytes on a fresh connection, then cut at points across it.
    const probe = await subscribe(h);
    // One cut falls inside the connection's startup, the others across the statements.
    const measure = rig(h, { max: 1 });
    let total: number;
    let startup: number;
    try {
      measure.proxy.dropAfterClientBytes(null);
      await measure.sql.query(statement`select 1`);
      startup = measure.proxy.clientBytes;
      await assertAnswer(await measure.deliver(probe.completed), 200, { received: true });
      total = measure.proxy.clientBytes;
    } finally {
      await measure.close();
    }
    assert.ok(total > startup);
    const steps = 12;
    const limits = [
      Math.floor(startup / 2),
      ...Array.from(
        { length: steps },
        (_, i) => startup + Math.floor(((total - startup) * (i + 1)) / (steps + 1)),
      ),
    ];
    for (const limit of limits) {
      const { user, subscription, completed } = await subscribe(h);
      const before = await actualBilling(h, user.id);
      const r = rig(h, { max: 1 });
      try {
        r.proxy.dropAfterClientBytes(limit);
        const response = await r.deliver(completed);
        if (response.status === 200) {
          await response.body?.cancel();
          assert.equal(await ledgerCount(h, completed.id), 1, `cut at ${limit}: 200 w/o commit`);
          await assertSynced(h, user.id, subscription.id);
        } else {
          await assertAnswer(response, 500, WEBHOOK_FAILED);
          assert.equal(await ledgerCount(h, completed.id), 0, `cut at ${limit}: partial write`);
          assert.deepEqual(
            await actualBilling(h, user.id),
            before,
            `cut at ${limit}: partial write`,
          );
        }
        r.proxy.dropAfterClientBytes(null);
        r.proxy.reset();
        await assertAnswer(await r.deliver(completed), 200, { received: true });
        assert.equal(await ledgerCount(h, completed.id), 1);
        await assertSynced(h, user.id, subscription.id);
      } finally {
        await r.close();
      }
    }
  },
);

// PGlite serves one session: a transaction holding the row lock holds the whole database, so the
// webhook would wait for the wire server's turn, not for a row lock, and no statement timeout
// could fire. The server run (DATABASE_URL) proves this case.
harnessTest(
  {
    name:
      "stripe-webhook answers 500 when its profile update exceeds the statement timeout, writes nothing, and the redelivery applies the event",
    ignore: !ON_SERVER,
  },
  async (h) => {
    const { user, subscription, completed } = await subscribe(h);
    const before = await actualBilling(h, user.id);
    const r = rig(h, { params: { statement_timeout: "300" } });
    const held = await h.sql.reserve();
    try {
      const [result] = await r.sql.query(
        statement`select current_setting('statement_timeout') as timeout`,
      );
      assert.equal(result?.rows[0]?.timeout, "300ms", "the startup parameter reached the server");
      await held`begin`;
      await held`select 1 from public.profiles where id = ${user.id} for update`;

      const started = performance.now();
      await assertAnswer(await r.deliver(completed), 500, WEBHOOK_FAILED);
      assert.ok(performance.now() - started < 5000, "the statement timed out, it did not hang");
      await held`rollback`;
      assert.equal(await ledgerCount(h, completed.id), 0);
      assert.deepEqual(await actualBilling(h, user.id), before);

      await assertAnswer(await r.deliver(completed), 200, { received: true });
      assert.equal(await ledgerCount(h, completed.id), 1);
      await assertSynced(h, user.id, subscription.id);
    } finally {
      await held`rollback`.catch(() => {});
      held.release();
      await r.close();
    }
  },
);

harnessTest(
  "stripe-webhook answers 500 when the database stops answering, writes nothing, and the redelivery applies the event",
  async (h) => {
    const { user, subscription, completed } = await subscribe(h);
    const before = await actualBilling(h, user.id);
    const r = rig(h, { max: 1, queryTimeoutMs: 300 });
    try {
      await r.sql.query(statement`select 1`); // the connection is up before the database goes quiet
      r.proxy.latencyMs = 1_000;
      const started = performance.now();
      await assertAnswer(await r.deliver(completed), 500, WEBHOOK_FAILED);
      const took = performance.now() - started;
      assert.ok(took < 1_000, `the query timed out rather than waited (${Math.round(took)} ms)`);
      r.proxy.latencyMs = 0;
      assert.equal(await ledgerCount(h, completed.id), 0);
      assert.deepEqual(await actualBilling(h, user.id), before);

      await assertAnswer(await r.deliver(completed), 200, { received: true });
      assert.equal(await ledgerCount(h, completed.id), 1);
      await assertSynced(h, user.id, subscription.id);
    } finally {
      await r.close();
    }
  },
);

harnessTest(
  "stripe-webhook answers 500 to every event while the database restarts and applies each on redelivery",
  async (h) => {
    const subscribed = await Promise.all([subscribe(h), subscribe(h), subscribe(h), subscribe(h)]);
    const extra = h.emulator.events().filter((event) =>
      event.type === "customer.subscription.created" &&
      subscribed.some((s) => (event.data.object as Stripe.Subscription).id === s.subscription.id)
    );
    const events = [...subscribed.map((s) => s.completed), ...extra];
    const r = rig(h);
    try {
      await r.sql.query(statement`select 1`); // connections are open when the server goes away
      r.proxy.latencyMs = 20;
      const inFlight = events.map((event) => r.deliver(event));
      await sleep(30);
      await r.proxy.pause();
      r.proxy.reset();
      const during = await Promise.all([
        ...inFlight,
        ...events.map((event) => r.deliver(event)),
      ]);
      let failed = 0;
      for (const [index, response] of during.entries()) {
        const event = events[index % events.length];
        assert.ok(event);
        if (response.status === 200) {
          // Only a delivery that committed before the outage may say so.
          await response.body?.cancel();
          assert.equal(await ledgerCount(h, event.id), 1, "200 without a commit");
        } else {
          failed += 1;
          await assertAnswer(response, 500, WEBHOOK_FAILED);
        }
      }
      assert.ok(failed >= events.length, "deliveries during the outage failed");

      await sleep(1000);
      r.proxy.latencyMs = 0;
      r.proxy.resume();
      for (const event of events) {
        await assertAnswer(await r.deliver(event), 200, { received: true });
      }
      for (const event of events) assert.equal(await ledgerCount(h, event.id), 1);
      for (const s of subscribed) await assertSynced(h, s.user.id, s.subscription.id);
    } finally {
      await r.close();
    }
  },
);

harnessTest(
  "stripe-webhook answers 500 while the database refuses connections, never 200",
  async (h) => {
    const { user, subscription, completed } = await subscribe(h);
    const before = await actualBilling(h, user.id);
    const r = rig(h);
    try {
      await r.proxy.pause();
      await assertAnswer(await r.deliver(completed), 500, WEBHOOK_FAILED);
      assert.equal(await ledgerCount(h, completed.id), 0);
      assert.deepEqual(await actualBilling(h, user.id), before);
      r.proxy.resume();
      await assertAnswer(await r.deliver(completed), 200, { received: true });
      await assertSynced(h, user.id, subscription.id);
    } finally {
      await r.close();
    }
  },
);

harnessTest(
  "stripe-checkout answers 500 when the connection drops as it saves the customer, and the retry reuses that customer",
  async (h) => {
    const user = await h.createUser();
    const r = rig(h);
    try {
      r.proxy.dropWhenClientSends(CUSTOMER_SAVE);
      await assertAnswer(await r.post(r.checkout, user.token), 500, INTERNAL_ERROR);
      assert.equal(r.proxy.dropped, 1);
      assert.equal((await h.profile(user.id)).stripe_customer_id, null);
      assert.equal(customersOf(h, user.id).length, 1, "the customer exists at Stripe");

      r.proxy.dropWhenClientSends(null);
      const body = await answerOf(await r.post(r.checkout, user.token), 200);
      assert.equal(typeof body.url, "string");
      const customers = customersOf(h, user.id);
      assert.equal(customers.length, 1, "the retry created no second customer");
      assert.equal((await h.profile(user.id)).stripe_customer_id, customers[0]);
    } finally {
      await r.close();
    }
  },
);

harnessTest(
  "stripe-checkout and stripe-portal answer 500 while the database is down and call Stripe for nothing",
  async (h) => {
    const user = await h.createUser();
    const r = rig(h);
    try {
      const calls = h.emulator.requests().length;
      await r.proxy.pause();
      r.proxy.reset();
      await assertAnswer(await r.post(r.checkout, user.token), 500, INTERNAL_ERROR);
      await assertAnswer(await r.post(r.portal, user.token), 500, INTERNAL_ERROR);
      assert.equal(h.emulator.requests().length, calls);
      assert.equal(customersOf(h, user.id).length, 0);
      r.proxy.resume();
      await answerOf(await r.post(r.checkout, user.token), 200);
      await answerOf(await r.post(r.portal, user.token), 200);
      assert.equal(customersOf(h, user.id).length, 1);
    } finally {
      await r.close();
    }
  },
);
