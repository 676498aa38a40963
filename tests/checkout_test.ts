import assert from "node:assert/strict";
import { closeHarness, harnessTest, jsonOf, SITE_URL } from "./harness.ts";

harnessTest("stripe-checkout answers 200 with the session URL", async (h) => {
  const user = await h.createUser();
  const response = await h.post(h.checkout, user.token);
  assert.equal(response.status, 200);
  assert.equal(response.headers.get("content-type"), "application/json");
  assert.equal(response.headers.get("access-control-allow-origin"), "*");
  const body = await jsonOf(response);
  assert.equal(typeof body.url, "string");
  const sessions = h.emulator.checkoutSessions();
  const session = sessions.find((s) => s.client_reference_id === user.id);
  assert.ok(session);
  assert.equal(body.url, session.url);
  assert.equal(session.success_url?.startsWith(`${SITE_URL}/dashboard`), true);
});

closeHarness();
