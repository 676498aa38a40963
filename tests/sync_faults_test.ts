import assert from "node:assert/strict";
import { connectDatabase } from "../supabase/functions/_shared/db.ts";
import { decodeCursor } from "../supabase/functions/stripe-sync/cursor.ts";
import type { Harness } from "./_support/harness.ts";
import type { PlayedHistory } from "./_support/history.ts";
import { seedFrom } from "./_support/random.ts";
import {
  assertAllSynced,
  callSync,
  playUndelivered,
  runPass,
  syncHandler,
  withFreshHarness,
} from "./_support/sync.ts";
import { startDatabaseProxy } from "./_support/tcp_proxy.ts";
import { deliverAll } from "./_support/webhook.ts";

/** `HISTORY_SEED` replays a failing run. */
const SEED = seedFrom("HISTORY_SEED", 20261201);

/** Delivers every event of the histories, so that the profiles start in sync. */
const deliverPlayed = (h: Harness, played: readonly PlayedHistory[]) =>
  deliverAll(h, played.flatMap((history) => history.events));

/** The pass's saved position, or null when no pass is under way. */
async function savedCursor(h: Harness) {
  const [row] = await h.sql<{ cursor: string | null; free: boolean }[]>`
    select cursor, lease_token is null as free from public.billing_sync_state`;
  assert.ok(row);
  assert.equal(row.free, true, "the failed call left the lease held");
  return row.cursor === null ? null : decodeCursor(row.cursor);
}

async function assertFailed(response: Response): Promise<void> {
  assert.equal(response.status, 500);
  assert.deepEqual(await response.json(), { error: "Sync failed" });
}

for (const [name, status] of [["an error (500)", 500], ["a rate limit (429)", 429]] as const) {
  Deno.test({
    name:
      `a sync call that meets ${name} from Stripe mid-pass fails cleanly, keeps its cursor, and the next call finishes the pass`,
    sanitizeOps: false,
    sanitizeResources: false,
    fn: () =>
      withFreshHarness(async (h) => {
        const played = await playUndelivered(h, 4, SEED + 300 + status);
        h.emulator.failNext({ method: "GET", path: /^\/v1\/subscriptions$/, status, count: 1 });
        await assertFailed(await callSync(h.sync));
        // Replay finished and was recorded; reconcile had not begun.
        assert.deepEqual(await savedCursor(h).then((c) => c && [c.step, c.after]), [
          "reconcile",
          null,
        ]);
        const totals = await runPass(h.sync);
        assert.equal(totals.eventsReplayed, 0, "replay ran again");
        await assertAllSynced(h, played);
      }),
  });
}

Deno.test({
  name:
    "a repair whose fresh read fails leaves the profile and the cursor as they were; the next call repairs it",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: () =>
    withFreshHarness(async (h) => {
      const played = await playUndelivered(h, 3, SEED + 310);
      await deliverPlayed(h, played);
      const [drifted] = played;
      assert.ok(drifted);
      await h
        .sql`update public.profiles set price_id = 'price_wrong' where id = ${drifted.user.id}`;
      h.emulator.failNext({
        method: "GET",
        path: `/v1/subscriptions/${drifted.subscriptionId}`,
        status: 500,
      });
      await assertFailed(await callSync(h.sync));
      assert.equal((await h.profile(drifted.user.id)).price_id, "price_wrong");
      assert.deepEqual(await savedCursor(h).then((c) => c && [c.step, c.after]), [
        "reconcile",
        null,
      ]);
      assert.equal((await runPass(h.sync)).profilesRepaired, 1);
      await assertAllSynced(h, played);
    }),
});

/** A sync whose database connections go through a proxy that can cut them. */
function proxiedSync(h: Harness) {
  const proxy = startDatabaseProxy(h.databaseUrl);
  const db = connectDatabase(proxy.urlFor(h.databaseUrl), { max: 2 });
  return {
    proxy,
    sync: syncHandler(h, { db }),
    async close() {
      await db.end({ timeoutMs: 1000 });
      await proxy.close();
    },
  };
}

const CUTS = [
  {
    name: "the repair's write",
    arm: (proxy: ReturnType<typeof startDatabaseProxy>) =>
      proxy.dropWhenClientSends("update public.profiles p set"),
    cursorAfter: ["reconcile", null],
  },
  {
    name: "the cursor's save (never sent)",
    arm: (proxy: ReturnType<typeof startDatabaseProxy>) => proxy.dropWhenClientSends("cursor = E'"),
    cursorAfter: null,
  },
  {
    name: "the cursor's save (committed, answer lost)",
    arm: (proxy: ReturnType<typeof startDatabaseProxy>) => proxy.dropAnswerTo("cursor = E'"),
    cursorAfter: ["replay", null],
  },
] as const;

for (const cut of CUTS) {
  Deno.test({
    name:
      `a database connection dropped at ${cut.name} fails the sync call cleanly, and the next call finishes the pass`,
    sanitizeOps: false,
    sanitizeResources: false,
    fn: () =>
      withFreshHarness(async (h) => {
        const played = await playUndelivered(h, 3, SEED + 320);
        await deliverPlayed(h, played);
        const [drifted] = played;
        assert.ok(drifted);
        await h.sql`
          update public.profiles set subscription_status = 'unpaid' where id = ${drifted.user.id}`;
        const rig = proxiedSync(h);
        try {
          cut.arm(rig.proxy);
          await assertFailed(await callSync(rig.sync));
          const cursor = await savedCursor(h);
          assert.deepEqual(cursor && [cursor.step, cursor.after], cut.cursorAfter);
          // The profile is repaired by a later call, never half-way by this one.
          assert.equal((await h.profile(drifted.user.id)).subscription_status, "unpaid");
          rig.proxy.dropWhenClientSends(null);
          rig.proxy.dropAnswerTo(null);
          const totals = await runPass(rig.sync);
          assert.ok(totals.calls >= 1);
          await assertAllSynced(h, played);
        } finally {
          await rig.close();
        }
      }),
  });
}
