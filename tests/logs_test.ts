/**
 * The request log: every request, answered or failed, writes exactly one JSON line with the
 * fields an operator searches by, and no secret (Stripe key, webhook secret, access token,
 * database password) reaches a log line, a response body or a response header.
 * The handlers here run on their own pool whose URL carries a password, with a capturing logger.
 */
import assert from "node:assert/strict";
import { connectDatabase, type Database } from "../supabase/functions/_shared/db.ts";
import type { Handler } from "../supabase/functions/_shared/http.ts";
import { createLogger } from "../supabase/functions/_shared/log.ts";
import { statement } from "../supabase/functions/_shared/pg/mod.ts";
import type { Stripe } from "../supabase/functions/_shared/stripe.ts";
import { subscribe } from "./_support/billing.ts";
import { completeOpenCheckout, syntheticEvent } from "./_support/emulator.ts";
import {
  buildHandlers,
  type Harness,
  harnessTest,
  signedDelivery,
  STRIPE_SECRET_KEY,
  testAuthenticator,
  userRequest,
  WEBHOOK_SECRET,
} from "./_support/harness.ts";
import { freePort } from "./_support/ports.ts";
import { assertInvalidSignature, deliverOk } from "./_support/webhook.ts";

const DATABASE_PASSWORD = "pw-secret-123";

/** One request and what it left behind: the response, its body text and its one log line. */
interface Exchange {
  response: Response;
  body: string;
  line: string;
  log: Record<string, unknown>;
}

/** The three handlers on a password-carrying pool, writing their log lines to `lines`. */
interface LogRig {
  lines: string[];
  /** Every secret this rig has seen: keys, the password, and each token it minted or sent. */
  secrets: string[];
  exchanges: Exchange[];
  checkout: Handler;
  portal: Handler;
  webhook: Handler;
  /** Sends a request and asserts it wrote exactly one parseable log line. */
  send(handler: Handler, request: Request): Promise<Exchange>;
  post(handler: Handler, token: string, method?: string): Promise<Exchange>;
  deliver(event: Stripe.Event, secret?: string): Promise<Exchange>;
  /** A user with a profile and a fresh access token (recorded as a secret). */
  createUser(): Promise<{ id: string; token: string }>;
  close(): Promise<void>;
}

/** The database URL with the password set: the server trusts loopback, PGlite ignores it. */
function withPassword(url: string): string {
  const parsed = new URL(url);
  parsed.password = DATABASE_PASSWORD;
  return parsed.href;
}

function logRig(h: Harness, databaseUrl = withPassword(h.databaseUrl)): LogRig {
  const lines: string[] = [];
  const logger = createLogger((line) => lines.push(line));
  const sql: Database = connectDatabase(databaseUrl, { max: 2 });
  const secrets = [STRIPE_SECRET_KEY, WEBHOOK_SECRET, DATABASE_PASSWORD];
  const exchanges: Exchange[] = [];
  const rig: LogRig = {
    lines,
    secrets,
    exchanges,
    ...buildHandlers({
      authenticate: testAuthenticator(h.issuer.jwks, h.issuer),
      stripe: h.stripe,
      db: sql,
      logger,
    }),
    async send(handler, request) {
      const before = lines.length;
      const response = await handler(request);
      const body = await response.text();
      assert.equal(lines.length, before + 1, `expected one log line, got ${lines.length - before}`);
      const line = lines[before];
      assert.ok(line !== undefined);
      assert.ok(!line.includes("\n"), "a log line is one line");
      const log = JSON.parse(line) as Record<string, unknown>;
      assert.equal(typeof log.function, "string");
      assert.equal(typeof log.requestId, "string");
      assert.equal(log.method, request.method);
      assert.equal(log.status, response.status);
      assert.equal(typeof log.outcome, "string");
      assert.equal(typeof log.durationMs, "number");
      assert.ok((log.durationMs as number) >= 0);
      const exchange = { response, body, line, log };
      exchanges.push(exchange);
      return exchange;
    },
    post(handler, token, method = "POST") {
      secrets.push(token);
      return rig.send(handler, userRequest(token, { method }));
    },
    async deliver(event, secret = WEBHOOK_SECRET) {
      return rig.send(rig.webhook, await signedDelivery(event, { secret }));
    },
    async createUser() {
      const user = await h.createUser();
      secrets.push(user.token);
      return { id: user.id, token: user.token };
    },
    async close() {
      await sql.end({ timeoutMs: 1000 });
    },
  };
  return rig;
}

/** Asserts that no secret the rig has seen appears in a log line, a body or a header. */
function assertNothingSecretLeaked(rig: LogRig): void {
  assert.ok(rig.exchanges.length > 0);
  for (const secret of rig.secrets) {
    for (const line of rig.lines) {
      assert.ok(!line.includes(secret), `log line leaks "${secret.slice(0, 12)}...": ${line}`);
    }
    for (const { response, body } of rig.exchanges) {
      assert.ok(!body.includes(secret), `response body leaks "${secret.slice(0, 12)}..."`);
      for (const [name, value] of response.headers) {
        assert.ok(!value.includes(secret), `response header ${name} leaks a secret`);
      }
    }
  }
}

// ---- tests ------------------------------------------------------------------------------------

harnessTest("a pool whose URL carries a password still reaches the test database", async (h) => {
  const sql = connectDatabase(withPassword(h.databaseUrl), { max: 1 });
  try {
    const [{ rows = [] } = {}] = await sql.query(statement`select 1 as one`);
    assert.deepEqual([...rows], [{ one: 1 }]);
  } finally {
    await sql.end({ timeoutMs: 1000 });
  }
});

harnessTest("checkout and portal log one line each with the user and the outcome", async (h) => {
  const rig = logRig(h);
  try {
    const user = await rig.createUser();

    const opened = await rig.post(rig.checkout, user.token);
    assert.equal(opened.response.status, 200);
    assert.equal(opened.log.level, "info");
    assert.equal(opened.log.function, "stripe-checkout");
    assert.equal(opened.log.outcome, "ok");
    assert.equal(opened.log.userId, user.id);
    assert.equal(typeof opened.log.customerId, "string");

    await h.sql`update public.profiles set subscription_status = 'active' where id = ${user.id}`;
    const again = await rig.post(rig.checkout, user.token);
    assert.equal(again.response.status, 400);
    assert.equal(again.log.level, "info");
    assert.equal(again.log.outcome, "rejected");
    assert.equal(again.log.userId, user.id);

    const portal = await rig.post(rig.portal, user.token);
    assert.equal(portal.response.status, 200);
    assert.equal(portal.log.function, "stripe-portal");
    assert.equal(portal.log.outcome, "ok");
    assert.equal(portal.log.userId, user.id);
    assert.equal(portal.log.customerId, opened.log.customerId);

    assert.notEqual(opened.log.requestId, again.log.requestId);
    assertNothingSecretLeaked(rig);
  } finally {
    await rig.close();
  }
});

harnessTest("a bad token and a wrong method each log one rejected line", async (h) => {
  const rig = logRig(h);
  try {
    const user = await rig.createUser();
    const forged = `${user.token.slice(0, -4)}AAAA`;

    const unauthorized = await rig.post(rig.checkout, forged);
    assert.equal(unauthorized.response.status, 401);
    assert.equal(unauthorized.log.level, "info");
    assert.equal(unauthorized.log.outcome, "rejected");
    assert.equal(unauthorized.log.userId, undefined);

    const wrongMethod = await rig.post(rig.portal, user.token, "GET");
    assert.equal(wrongMethod.response.status, 405);
    assert.equal(wrongMethod.log.function, "stripe-portal");
    assert.equal(wrongMethod.log.method, "GET");
    assert.equal(wrongMethod.log.outcome, "rejected");

    assertNothingSecretLeaked(rig);
  } finally {
    await rig.close();
  }
});

harnessTest(
  "a webhook logs its event as applied, then as duplicate, and a forgery as 400",
  async (h) => {
    const rig = logRig(h);
    try {
      const user = await rig.createUser();
      assert.equal((await rig.post(rig.checkout, user.token)).response.status, 200);
      const event = completeOpenCheckout(h, user.id).completed;

      const applied = await rig.deliver(event);
      assert.equal(applied.response.status, 200);
      assert.equal(applied.log.function, "stripe-webhook");
      assert.equal(applied.log.outcome, "ok");
      assert.equal(applied.log.eventId, event.id);
      assert.equal(applied.log.eventType, "checkout.session.completed");
      assert.equal(applied.log.eventOutcome, "applied");

      const duplicate = await rig.deliver(event);
      assert.equal(duplicate.response.status, 200);
      assert.equal(duplicate.log.eventId, event.id);
      assert.equal(duplicate.log.eventType, "checkout.session.completed");
      assert.equal(duplicate.log.eventOutcome, "duplicate");

      const forged = await rig.deliver(event, "whsec_someone_else");
      assert.equal(forged.response.status, 400);
      assert.equal(forged.log.outcome, "rejected");
      assert.equal(forged.log.eventId, undefined);

      assertNothingSecretLeaked(rig);
    } finally {
      await rig.close();
    }
  },
);

harnessTest("a Stripe failure logs one error line naming the Stripe error", async (h) => {
  const rig = logRig(h);
  try {
    const user = await rig.createUser();
    h.emulator.failNext({ path: "/v1/checkout/sessions", status: 500 });
    const failed = await rig.post(rig.checkout, user.token);
    assert.equal(failed.response.status, 500);
    assert.equal(failed.log.level, "error");
    assert.equal(failed.log.outcome, "failed");
    assert.equal(failed.log.userId, user.id);
    assert.equal(typeof failed.log.error, "string");
    assert.match(failed.log.error as string, /injected fault/);
    assert.equal(failed.log.errorType, "StripeAPIError");
    assertNothingSecretLeaked(rig);
  } finally {
    await rig.close();
  }
});

harnessTest("a database failure logs one error line naming the connection error", async (h) => {
  const rig = logRig(
    h,
    `postgres://postgres:${DATABASE_PASSWORD}@127.0.0.1:${freePort()}/postgres`,
  );
  try {
    const user = await rig.createUser();
    const failed = await rig.post(rig.checkout, user.token);
    assert.equal(failed.response.status, 500);
    assert.deepEqual(JSON.parse(failed.body), { error: "Internal server error" });
    assert.equal(failed.log.level, "error");
    assert.equal(failed.log.outcome, "failed");
    assert.equal(failed.log.userId, user.id);
    assert.equal(typeof failed.log.error, "string");
    assert.match(failed.log.error as string, /ECONNREFUSED|connection refused/i);
    assertNothingSecretLeaked(rig);
  } finally {
    await rig.close();
  }
});

harnessTest("stripe-webhook writes no secret to its log", async (h) => {
  const subscribed = await subscribe(h);
  const event = subscribed.completed;
  const before = h.logs.length;
  // One request down each path that logs: a bad signature, a failure at Stripe (logged with
  // its cause), an applied event, a duplicate, and an unhandled type.
  await assertInvalidSignature(await h.deliver(event, { secret: "whsec_someone_else" }));
  h.emulator.failNext({ path: "/v1/subscriptions", status: 500, count: 1 });
  const failed = await h.deliver(event);
  assert.equal(failed.status, 500);
  await failed.body?.cancel();
  await deliverOk(h, event);
  await deliverOk(h, event);
  await deliverOk(h, syntheticEvent("payment_intent.succeeded", { id: "pi_test_secrets" }));

  const lines = h.logs.slice(before);
  assert.deepEqual(
    lines.map((line) => JSON.parse(line) as Record<string, unknown>).map((fields) => [
      fields.function,
      fields.status,
      fields.outcome,
      fields.eventOutcome,
    ]),
    [
      ["stripe-webhook", 400, "rejected", undefined],
      ["stripe-webhook", 500, "failed", undefined],
      ["stripe-webhook", 200, "ok", "applied"],
      ["stripe-webhook", 200, "ok", "duplicate"],
      ["stripe-webhook", 200, "ok", "unhandled"],
    ],
  );
  for (const line of h.logs) {
    assert.ok(!line.includes(WEBHOOK_SECRET), `log line holds the webhook secret: ${line}`);
    assert.ok(!line.includes(STRIPE_SECRET_KEY), `log line holds the Stripe key: ${line}`);
  }
});
