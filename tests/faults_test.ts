/**
 * Faults of the database and of Stripe: each failing request answers its documented status, leaves
 * no partial write, and a retry (Stripe's redelivery, the user's second click) then succeeds.
 * The database faults come from a TCP proxy in front of the test database; every check of what
 * was written reads through the harness's direct connection, never through the proxy.
 */
import assert from "node:assert/strict";
import { signPayload } from "../dev/stripe/mod.ts";
import { connectDatabase, type Database } from "../supabase/functions/_shared/db.ts";
import type { Handler } from "../supabase/functions/_shared/http.ts";
import { statement } from "../supabase/functions/_shared/pg/mod.ts";
import { createStripe, type Stripe } from "../supabase/functions/_shared/stripe.ts";
import {
  buildHandlers,
  closeHarness,
  type Harness,
  harness,
  harnessTest,
  STRIPE_SECRET_KEY,
  testAuthenticator,
  type TestUser,
  WEBHOOK_SECRET,
} from "./harness.ts";
import { actualBilling, profileProblem } from "./history.ts";
import { startDatabaseProxy, type TcpProxy } from "./tcp_proxy.ts";

const ON_SERVER = Boolean(Deno.env.get("DATABASE_URL"));
/** What checkout and portal answer to a failure of their own. */
const INTERNAL_ERROR = { error: "Internal server error" };
const WEBHOOK_FAILED = { error: "Webhook handler failed" };
/** The statement of the webhook's profile write, and of checkout's customer save. */
const PROFILE_WRITE = "update public.profiles p set";
const CUSTOMER_SAVE = "update public.profiles set stripe_customer_id";

// ---- rigs -------------------------------------------------------------------------------------

/** The three handlers on their own pool, through a proxy, or with their own Stripe client. */
interface Rig {
  proxy: TcpProxy;
  sql: Database;
  checkout: Handler;
  portal: Handler;
  webhook: Handler;
  deliver(event: Stripe.Event): Promise<Response>;
  post(handler: Handler, token: string): Promise<Response>;
  close(): Promise<void>;
}

interface RigOptions {
  /** Startup parameters added to the proxied URL (the client sends unknown ones to the server). */
  params?: Record<string, string>;
  /** Pool size. */
  max?: number;
  /** How long a query may wait for the database's answer. */
  queryTimeoutMs?: number;
  /** A Stripe client other than the harness's. */
  stripe?: Stripe;
}

function rig(h: Harness, options: RigOptions = {}): Rig {
  const proxy = startDatabaseProxy(h.databaseUrl);
  const url = new URL(proxy.urlFor(h.databaseUrl));
  for (const [key, value] of Object.entries(options.params ?? {})) {
    url.searchParams.set(key, value);
  }
  const sql = connectDatabase(url.href, {
    max: options.max ?? 4,
    ...(options.queryTimeoutMs && { queryTimeoutMs: options.queryTimeoutMs }),
  });
  const stripe = options.stripe ?? h.stripe;
  const { checkout, portal, webhook } = buildHandlers({
    authenticate: testAuthenticator(h.issuer.jwks, h.issuer),
    stripe,
    db: sql,
    logger: h.logger,
  });
  return {
    proxy,
    sql,
    webhook,
    checkout,
    portal,
    deliver: (event) => within(deliverTo(webhook, event)),
    post: (handler, token) =>
      within(handler(
        new Request("http://127.0.0.1/functions/v1/test", {
          method: "POST",
          headers: { Authorization: `Bearer ${token}` },
        }),
      )),
    async close() {
      await sql.end({ timeoutMs: 1000 });
      await proxy.close();
    },
  };
}

/** A Stripe client on the emulator with its own retry and timeout settings. */
function stripeClient(h: Harness, maxNetworkRetries: number, timeoutMs: number): Stripe {
  const api = new URL(h.stripeApiUrl);
  return createStripe({
    secretKey: STRIPE_SECRET_KEY,
    api: { host: api.hostname, port: Number(api.port), protocol: "http" },
    maxNetworkRetries,
    timeoutMs,
  });
}

/** A handler's answer, or a failure when it gives none within 10 s (instead of hanging). */
async function within(answer: Promise<Response>, ms = 10_000): Promise<Response> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      answer,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`No answer within ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

async function deliverTo(webhook: Handler, event: Stripe.Event): Promise<Response> {
  const body = JSON.stringify(event);
  return await webhook(
    new Request("http://127.0.0.1/functions/v1/stripe-webhook", {
      method: "POST",
      headers: {
        "Content-Type": "application/json",
        "Stripe-Signature": await signPayload(body, WEBHOOK_SECRET),
      },
      body,
    }),
  );
}

// ---- helpers ----------------------------------------------------------------------------------

/** A user who paid a checkout at Stripe; its checkout.session.completed is not delivered yet. */
interface Subscribed {
  user: TestUser;
  subscription: Stripe.Subscription;
  completed: Stripe.Event;
}

async function subscribe(h: Harness): Promise<Subscribed> {
  const user = await h.createUser();
  const response = await h.post(h.checkout, user.token);
  assert.equal(response.status, 200);
  await response.body?.cancel();
  const session = h.emulator.checkoutSessions().findLast((s) =>
    s.client_reference_id === user.id && s.status === "open"
  );
  assert.ok(session, "checkout made no open session");
  const subscription = h.emulator.completeCheckout(session.id);
  const completed = h.emulator.events().find((event) =>
    event.type === "checkout.session.completed" &&
    (event.data.object as Stripe.Checkout.Session).id === session.id
  );
  assert.ok(completed, "no checkout.session.completed event");
  return { user, subscription, completed };
}

async function ledgerCount(h: Harness, eventId: string): Promise<number> {
  const [row] = await h.sql<{ n: number }[]>`
    select count(*)::int as n from public.stripe_events where id = ${eventId}`;
  return row?.n ?? -1;
}

/** The profile's billing columns, for before/after comparisons. */
const billing = actualBilling;

/** Asserts the profile holds the subscription's current state at Stripe. */
async function assertSynced(h: Harness, userId: string, subscriptionId: string): Promise<void> {
  assert.equal(await profileProblem(h, userId, subscriptionId), null);
}

async function assertFailed(response: Response, body: Record<string, string>): Promise<void> {
  assert.equal(response.status, 500);
  assert.equal(response.headers.get("content-type"), "application/json");
  assert.equal(response.headers.get("access-control-allow-origin"), "*");
  assert.deepEqual(await response.json(), body);
}

async function assertOk(response: Response): Promise<Record<string, unknown>> {
  assert.equal(response.status, 200);
  return await response.json() as Record<string, unknown>;
}

function customersOf(h: Harness, userId: string) {
  return h.emulator.customers().filter((c) => !c.deleted && c.metadata.userId === userId);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// ---- the database failing mid-event -----------------------------------------------------------

harnessTest(
  "stripe-webhook answers 500 and writes nothing when the connection drops at the profile update, and the redelivery applies the event",
  async (h) => {
    const { user, subscription, completed } = await subscribe(h);
    const before = await billing(h, user.id);
    const r = rig(h);
    try {
      r.proxy.dropWhenClientSends(PROFILE_WRITE);
      await assertFailed(await r.deliver(completed), WEBHOOK_FAILED);
      assert.equal(r.proxy.dropped, 1, "the proxy cut the connection at the update");
      assert.equal(await ledgerCount(h, completed.id), 0, "the ledger row was rolled back");
      assert.deepEqual(await billing(h, user.id), before);

      r.proxy.dropWhenClientSends(null);
      assert.deepEqual(await assertOk(await r.deliver(completed)), { received: true });
      assert.equal(await ledgerCount(h, completed.id), 1);
      await assertSynced(h, user.id, subscription.id);
      // A third delivery is a duplicate: still one row, same profile.
      assert.deepEqual(await assertOk(await r.deliver(completed)), { received: true });
      assert.equal(await ledgerCount(h, completed.id), 1);
    } finally {
      await r.close();
    }
  },
);

Deno.test({
  name: "stripe-webhook answers 500 when the connection is reset (RST) at the profile update",
  // A reset rather than an orderly close: the client must fail the request at once.
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const h = await harness();
    const { user, completed } = await subscribe(h);
    const before = await billing(h, user.id);
    const r = rig(h);
    try {
      r.proxy.cutMode = "reset";
      r.proxy.dropWhenClientSends(PROFILE_WRITE);
      await assertFailed(await r.deliver(completed), WEBHOOK_FAILED);
      assert.equal(await ledgerCount(h, completed.id), 0);
      assert.deepEqual(await billing(h, user.id), before);
    } finally {
      await r.close();
    }
  },
});

harnessTest(
  "stripe-webhook answers 500 when the commit's answer is lost, and the redelivery finds the event applied once",
  async (h) => {
    // The profile write carries the COMMIT; here it reaches the database, only the answer is cut.
    const { user, subscription, completed } = await subscribe(h);
    const r = rig(h);
    try {
      r.proxy.dropAnswerTo("commit");
      await assertFailed(await r.deliver(completed), WEBHOOK_FAILED);
      assert.equal(r.proxy.dropped, 1);
      assert.equal(await ledgerCount(h, completed.id), 1);
      await assertSynced(h, user.id, subscription.id);

      r.proxy.dropAnswerTo(null);
      assert.deepEqual(await assertOk(await r.deliver(completed)), { received: true });
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
      await assertOk(await measure.deliver(probe.completed));
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
      const before = await billing(h, user.id);
      const r = rig(h, { max: 1 });
      try {
        r.proxy.dropAfterClientBytes(limit);
        const response = await r.deliver(completed);
        if (response.status === 200) {
          await response.body?.cancel();
          assert.equal(await ledgerCount(h, completed.id), 1, `cut at ${limit}: 200 w/o commit`);
          await assertSynced(h, user.id, subscription.id);
        } else {
          await assertFailed(response, WEBHOOK_FAILED);
          assert.equal(await ledgerCount(h, completed.id), 0, `cut at ${limit}: partial write`);
          assert.deepEqual(await billing(h, user.id), before, `cut at ${limit}: partial write`);
        }
        r.proxy.dropAfterClientBytes(null);
        r.proxy.reset();
        await assertOk(await r.deliver(completed));
        assert.equal(await ledgerCount(h, completed.id), 1);
        await assertSynced(h, user.id, subscription.id);
      } finally {
        await r.close();
      }
    }
  },
);

Deno.test({
  name:
    "stripe-webhook answers 500 when its profile update exceeds the statement timeout, writes nothing, and the redelivery applies the event",
  // PGlite serves one session: a transaction holding the row lock holds the whole database, so
  // the webhook would wait for the wire server's turn, not for a row lock, and no statement
  // timeout could fire. The server run (DATABASE_URL) proves this case.
  ignore: !ON_SERVER,
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const h = await harness();
    const { user, subscription, completed } = await subscribe(h);
    const before = await billing(h, user.id);
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
      await assertFailed(await r.deliver(completed), WEBHOOK_FAILED);
      assert.ok(performance.now() - started < 5000, "the statement timed out, it did not hang");
      await held`rollback`;
      assert.equal(await ledgerCount(h, completed.id), 0);
      assert.deepEqual(await billing(h, user.id), before);

      await assertOk(await r.deliver(completed));
      assert.equal(await ledgerCount(h, completed.id), 1);
      await assertSynced(h, user.id, subscription.id);
    } finally {
      await held`rollback`.catch(() => {});
      held.release();
      await r.close();
    }
  },
});

harnessTest(
  "stripe-webhook answers 500 when the database stops answering, writes nothing, and the redelivery applies the event",
  async (h) => {
    const { user, subscription, completed } = await subscribe(h);
    const before = await billing(h, user.id);
    const r = rig(h, { max: 1, queryTimeoutMs: 300 });
    try {
      await r.sql.query(statement`select 1`); // the connection is up before the database goes quiet
      r.proxy.latencyMs = 1_000;
      const started = performance.now();
      await assertFailed(await r.deliver(completed), WEBHOOK_FAILED);
      const took = performance.now() - started;
      assert.ok(took < 1_000, `the query timed out rather than waited (${Math.round(took)} ms)`);
      r.proxy.latencyMs = 0;
      assert.equal(await ledgerCount(h, completed.id), 0);
      assert.deepEqual(await billing(h, user.id), before);

      await assertOk(await r.deliver(completed));
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
          await assertFailed(response, WEBHOOK_FAILED);
        }
      }
      assert.ok(failed >= events.length, "deliveries during the outage failed");

      await sleep(1000);
      r.proxy.latencyMs = 0;
      r.proxy.resume();
      for (const event of events) {
        assert.deepEqual(await assertOk(await r.deliver(event)), { received: true });
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
    const before = await billing(h, user.id);
    const r = rig(h);
    try {
      await r.proxy.pause();
      await assertFailed(await r.deliver(completed), WEBHOOK_FAILED);
      assert.equal(await ledgerCount(h, completed.id), 0);
      assert.deepEqual(await billing(h, user.id), before);
      r.proxy.resume();
      await assertOk(await r.deliver(completed));
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
      await assertFailed(await r.post(r.checkout, user.token), INTERNAL_ERROR);
      assert.equal(r.proxy.dropped, 1);
      assert.equal((await h.profile(user.id)).stripe_customer_id, null);
      assert.equal(customersOf(h, user.id).length, 1, "the customer exists at Stripe");

      r.proxy.dropWhenClientSends(null);
      const body = await assertOk(await r.post(r.checkout, user.token));
      assert.equal(typeof body.url, "string");
      const customers = customersOf(h, user.id);
      assert.equal(customers.length, 1, "the retry created no second customer");
      assert.equal((await h.profile(user.id)).stripe_customer_id, customers[0]?.id);
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
      await assertFailed(await r.post(r.checkout, user.token), INTERNAL_ERROR);
      await assertFailed(await r.post(r.portal, user.token), INTERNAL_ERROR);
      assert.equal(h.emulator.requests().length, calls);
      assert.equal(customersOf(h, user.id).length, 0);
      r.proxy.resume();
      await assertOk(await r.post(r.checkout, user.token));
      await assertOk(await r.post(r.portal, user.token));
      assert.equal(customersOf(h, user.id).length, 1);
    } finally {
      await r.close();
    }
  },
);

// ---- Stripe failing ---------------------------------------------------------------------------

/** A Stripe fault: an error status, or a delay longer than the client's 300 ms timeout. */
interface StripeFault {
  name: string;
  status?: number;
  delayMs?: number;
}

const STRIPE_FAULTS: StripeFault[] = [
  { name: "a 500", status: 500 },
  { name: "a 429", status: 429 },
  { name: "a timeout", delayMs: 1000 },
];

/** The messages the emulator's injected faults carry; none may reach a response. */
const STRIPE_MESSAGES = ["injected fault", "rate limit", "Testing rate limit", "api_error"];

async function assertNoStripeMessage(response: Response, expected: Record<string, string>) {
  const text = await response.clone().text();
  for (const message of STRIPE_MESSAGES) {
    assert.ok(!text.includes(message), `response leaks "${message}": ${text}`);
  }
  await assertFailed(response, expected);
}

for (const fault of STRIPE_FAULTS) {
  harnessTest(
    `stripe-checkout answers 500 to ${fault.name} from Stripe when creating the customer, and the retry makes one customer`,
    async (h) => {
      const user = await h.createUser();
      const r = rig(h, { stripe: stripeClient(h, 0, 300) });
      try {
        h.emulator.failNext({ method: "POST", path: "/v1/customers", ...fault, count: 1 });
        await assertNoStripeMessage(await r.post(r.checkout, user.token), INTERNAL_ERROR);
        assert.equal((await h.profile(user.id)).stripe_customer_id, null);
        if (fault.delayMs) await sleep(fault.delayMs); // the late call completes at Stripe

        await assertOk(await r.post(r.checkout, user.token));
        const customers = customersOf(h, user.id);
        assert.equal(customers.length, 1, "one customer after the retry");
        assert.equal((await h.profile(user.id)).stripe_customer_id, customers[0]?.id);
      } finally {
        await r.close();
      }
    },
  );

  harnessTest(
    `stripe-checkout answers 500 to ${fault.name} from Stripe when creating the session, and the retry keeps the customer`,
    async (h) => {
      const user = await h.createUser();
      const r = rig(h, { stripe: stripeClient(h, 0, 300) });
      try {
        h.emulator.failNext({ method: "POST", path: "/v1/checkout/sessions", ...fault, count: 1 });
        const sessions = h.emulator.checkoutSessions().length;
        await assertNoStripeMessage(await r.post(r.checkout, user.token), INTERNAL_ERROR);
        const stored = (await h.profile(user.id)).stripe_customer_id;
        assert.ok(stored, "the customer made before the failure is kept");
        if (fault.delayMs) await sleep(fault.delayMs);
        else assert.equal(h.emulator.checkoutSessions().length, sessions);

        const body = await assertOk(await r.post(r.checkout, user.token));
        assert.equal(typeof body.url, "string");
        assert.equal((await h.profile(user.id)).stripe_customer_id, stored);
        assert.equal(customersOf(h, user.id).length, 1);
      } finally {
        await r.close();
      }
    },
  );

  harnessTest(
    `stripe-portal answers 500 to ${fault.name} from Stripe, and the retry opens the portal`,
    async (h) => {
      const user = await h.createUser();
      await assertOk(await h.post(h.checkout, user.token));
      const r = rig(h, { stripe: stripeClient(h, 0, 300) });
      try {
        h.emulator.failNext({ method: "POST", path: "/v1/billing_portal/sessions", ...fault });
        await assertNoStripeMessage(await r.post(r.portal, user.token), INTERNAL_ERROR);
        const body = await assertOk(await r.post(r.portal, user.token));
        assert.equal(typeof body.url, "string");
      } finally {
        await r.close();
      }
    },
  );

  harnessTest(
    `stripe-webhook answers 500 to ${fault.name} from Stripe when re-reading the subscription, writes nothing, and the redelivery applies it`,
    async (h) => {
      const { user, subscription, completed } = await subscribe(h);
      const before = await billing(h, user.id);
      const r = rig(h, { stripe: stripeClient(h, 0, 300) });
      try {
        h.emulator.failNext({
          method: "GET",
          path: `/v1/subscriptions/${subscription.id}`,
          ...fault,
        });
        await assertNoStripeMessage(await r.deliver(completed), WEBHOOK_FAILED);
        assert.equal(await ledgerCount(h, completed.id), 0);
        assert.deepEqual(await billing(h, user.id), before);

        await assertOk(await r.deliver(completed));
        assert.equal(await ledgerCount(h, completed.id), 1);
        await assertSynced(h, user.id, subscription.id);
      } finally {
        await r.close();
      }
    },
  );
}

// The SDK retries 409 and 5xx (and what Stripe marks `Stripe-Should-Retry: true`), not a bare 429:
// that one is the 500 of the fault tests above, and the user's retry makes one customer.
for (const status of [500, 503]) {
  harnessTest(
    `stripe-checkout with SDK retries rides out a single ${status} from Stripe with one customer`,
    async (h) => {
      const user = await h.createUser();
      const r = rig(h, { stripe: stripeClient(h, 2, 5000) });
      try {
        const mark = h.emulator.requests().length;
        h.emulator.failNext({ method: "POST", path: "/v1/customers", status, count: 1 });
        const body = await assertOk(await r.post(r.checkout, user.token));
        assert.equal(typeof body.url, "string");
        const calls = h.emulator.requests().slice(mark).filter((call) =>
          call.method === "POST" && call.path === "/v1/customers"
        );
        assert.deepEqual(calls.map((call) => call.status), [status, 200]);
        assert.ok(calls[0]?.idempotencyKey);
        assert.equal(calls[1]?.idempotencyKey, calls[0]?.idempotencyKey, "the same key");
        const customers = customersOf(h, user.id);
        assert.equal(customers.length, 1);
        assert.equal((await h.profile(user.id)).stripe_customer_id, customers[0]?.id);
      } finally {
        await r.close();
      }
    },
  );
}

closeHarness();
