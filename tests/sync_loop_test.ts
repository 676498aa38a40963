import assert from "node:assert/strict";
import { isIdleLoopLine, LOOP_REQUEST_ID, runLocalPass } from "../dev/sync_loop.ts";
import { createLogger } from "../supabase/functions/_shared/log.ts";
import { completeOpenCheckout } from "./_support/emulator.ts";
import { SYNC_SECRET } from "./_support/harness.ts";
import { syncHandler, withFreshHarness } from "./_support/sync.ts";

Deno.test({
  name: "the local sync loop runs whole passes and the dev log leaves out only its idle calls",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: () =>
    withFreshHarness(async (h) => {
      const lines: string[] = [];
      const sync = syncHandler(
        { ...h, logger: createLogger((line) => lines.push(line)) },
        { limits: { maxPages: 1, pageSize: 2 } },
      );
      const user = await h.createUser();
      const response = await h.post(h.checkout, user.token);
      assert.equal(response.status, 200);
      await response.body?.cancel();
      completeOpenCheckout(h, user.id);

      const summary = await runLocalPass(sync, SYNC_SECRET);
      assert.match(summary ?? "", /^sync pass: [1-9]\d* missed event\(s\) replayed/);
      assert.equal((await h.profile(user.id)).subscription_status, "active");
      const requests = () => lines.filter((line) => JSON.parse(line).message === "request");
      assert.ok(requests().length > 1, "a pass of small pages takes several calls");
      assert.ok(requests().every((line) => JSON.parse(line).requestId === LOOP_REQUEST_ID));
      assert.ok(
        requests().some((line) => !isIdleLoopLine(line)),
        "a call that replayed was dropped",
      );
      assert.ok(lines.some((line) => JSON.parse(line).message === "event replayed"));

      lines.length = 0;
      assert.equal(await runLocalPass(sync, SYNC_SECRET), null, "an idle pass says nothing");
      assert.ok(lines.length > 0 && lines.every(isIdleLoopLine));
      assert.equal(
        await runLocalPass(sync, "wrong-secret-of-the-loop"),
        'sync pass failed: 401 {"error":"Invalid sync secret"}',
      );
    }),
});

Deno.test("a line of another request is never taken for the loop's", () => {
  const line = (fields: Record<string, unknown>) =>
    JSON.stringify({ message: "request", ...fields });
  assert.equal(isIdleLoopLine(line({ requestId: "abc", outcome: "ok" })), false);
  assert.equal(
    isIdleLoopLine(
      line({
        requestId: LOOP_REQUEST_ID,
        outcome: "failed",
        eventsReplayed: 0,
        profilesRepaired: 0,
      }),
    ),
    false,
  );
  assert.equal(
    isIdleLoopLine(
      line({ requestId: LOOP_REQUEST_ID, outcome: "ok", eventsReplayed: 0, profilesRepaired: 0 }),
    ),
    true,
  );
});
