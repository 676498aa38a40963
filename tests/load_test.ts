/**
 * Load over real HTTP on loopback: the three handlers behind one `Deno.serve`, 500 concurrent
 * mixed requests (first checkouts, double clicks, checkouts of subscribed users, portal calls,
 * webhook deliveries with repeated event ids), then the database and Stripe are checked for
 * lost events, extra customers, profiles out of step and leaked connections.
 */
import assert from "node:assert/strict";
import type { Stripe } from "../supabase/functions/_shared/stripe.ts";
import { ledgerProblems, profileProblem } from "./_support/billing.ts";
import { copies } from "./_support/delivery.ts";
import { customersOf } from "./_support/emulator.ts";
import { deliveryHeaders, type Harness, harnessTest, type TestUser } from "./_support/harness.ts";
import { applyHistory, generateHistory, type PlayedHistory } from "./_support/history.ts";
import { mulberry32, seedFrom, shuffle } from "./_support/random.ts";

const TOTAL_REQUESTS = 500;
/** Users without a customer whose first checkout is part of the load. */
const NEW_USERS = 200;
/** Of those, how many click twice (two concurrent checkouts). */
const DOUBLE_CLICKS = 20;
/** Users whose subscription is live before the load: their checkout is refused. */
const SUBSCRIBED_USERS = 20;
/** Most webhook deliveries; the rest of the load is portal calls. */
const MAX_DELIVERIES = 220;
/**
 * The handlers' pool size (`connectDatabase` in _shared/db.ts) and the pools the harness opens.
 */
const POOL_MAX = 10;

const SEED = seedFrom("HISTORY_SEED", 20261125);
const ON_SERVER = Boolean(Deno.env.get("DATABASE_URL"));

/** One request of the load, and what it must answer. */
interface Call {
  kind: "checkout" | "already subscribed" | "portal" | "webhook";
  path: string;
  init: RequestInit;
  status: number;
  check(body: Record<string, unknown>): boolean;
}

const hasUrl = (body: Record<string, unknown>) =>
  typeof body.url === "string" && body.url.startsWith("http");

function checkoutCall(user: TestUser): Call {
  return {
    kind: "checkout",
    path: "/functions/v1/stripe-checkout",
    init: { method: "POST", headers: { Authorization: `Bearer ${user.token}` } },
    status: 200,
    check: hasUrl,
  };
}

function refusedCheckoutCall(user: TestUser): Call {
  return {
    ...checkoutCall(user),
    kind: "already subscribed",
    status: 400,
    check: (body) => body.error === "Already subscribed",
  };
}

function portalCall(user: TestUser): Call {
  return {
    kind: "portal",
    path: "/functions/v1/stripe-portal",
    init: { method: "POST", headers: { Authorization: `Bearer ${user.token}` } },
    status: 200,
    check: hasUrl,
  };
}

async function webhookCall(event: Stripe.Event): Promise<Call> {
  const body = JSON.stringify(event);
  return {
    kind: "webhook",
    path: "/functions/v1/stripe-webhook",
    init: { method: "POST", headers: await deliveryHeaders(body), body },
    status: 200,
    check: (answer) => answer.received === true,
  };
}

/** Serves the handlers on 127.0.0.1 at their Supabase paths. */
function serveHandlers(h: Harness): { url: string; server: Deno.HttpServer<Deno.NetAddr> } {
  const routes = new Map([
    ["/functions/v1/stripe-checkout", h.checkout],
    ["/functions/v1/stripe-portal", h.portal],
    ["/functions/v1/stripe-webhook", h.webhook],
  ]);
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (request) => {
    const handler = routes.get(new URL(request.url).pathname);
    return handler ? handler(request) : new Response("Not found", { status: 404 });
  });
  return { url: `http://127.0.0.1:${server.addr.port}`, server };
}

/** Connections open to the test database (PostgreSQL only). */
async function connectionCount(h: Harness): Promise<number> {
  const [row] = await h.sql<{ n: number }[]>`
    select count(*)::int as n from pg_stat_activity where datname = current_database()`;
  return row?.n ?? -1;
}

harnessTest(
  `the functions answer ${TOTAL_REQUESTS} concurrent mixed requests over HTTP without losing an event or a connection`,
  async (h) => {
    const rng = mulberry32(SEED);

    // Users with a live subscription, delivered before the load: checkout refuses them.
    const subscribed: PlayedHistory[] = [];
    for (let i = 0; i < SUBSCRIBED_USERS; i++) {
      const played = await applyHistory(h, await h.createUser(), [{ op: "start", trialDays: 0 }]);
      for (const event of played.events) {
        const response = await h.deliver(event);
        assert.equal(response.status, 200);
        await response.body?.cancel();
      }
      assert.equal((await h.profile(played.user.id)).subscription_status, "active");
      subscribed.push(played);
    }

    // Histories played at Stripe but not delivered: their events (1 to 3 times each) are load.
    const histories: PlayedHistory[] = [];
    const deliveries: Stripe.Event[] = [];
    while (true) {
      const ops = generateHistory(rng, { minActions: 1, maxActions: 4 });
      const played = await applyHistory(h, await h.createUser(), ops);
      const repeated = copies(played.events, rng);
      if (deliveries.length + repeated.length > MAX_DELIVERIES) break;
      histories.push(played);
      deliveries.push(...repeated);
    }
    assert.ok(histories.length >= 5, `only ${histories.length} histories fit the load`);

    const newUsers = await Promise.all(Array.from({ length: NEW_USERS }, () => h.createUser()));
    const calls: Call[] = [
      ...newUsers.map(checkoutCall),
      ...newUsers.slice(0, DOUBLE_CLICKS).map(checkoutCall),
      ...subscribed.map((played) => refusedCheckoutCall(played.user)),
      ...await Promise.all(deliveries.map(webhookCall)),
    ];
    const withCustomer = [...subscribed, ...histories].map((played) => played.user);
    while (calls.length < TOTAL_REQUESTS) {
      calls.push(portalCall(withCustomer[calls.length % withCustomer.length] as TestUser));
    }
    assert.equal(calls.length, TOTAL_REQUESTS);

    const { url, server } = serveHandlers(h);
    const client = Deno.createHttpClient({});
    const before = ON_SERVER ? await connectionCount(h) : 0;
    try {
      const answers = await Promise.all(
        shuffle(calls, rng).map(async (call) => {
          try {
            const response = await fetch(`${url}${call.path}`, { ...call.init, client });
            const text = await response.text();
            let body: Record<string, unknown> = {};
            try {
              body = JSON.parse(text);
            } catch {
              // Reported below as a wrong body.
            }
            return { call, status: response.status, text, ok: call.check(body) };
          } catch (error) {
            return { call, status: 0, text: String(error), ok: false };
          }
        }),
      );

      const wrong = answers.filter((answer) => answer.status !== answer.call.status || !answer.ok);
      assert.deepEqual(
        wrong.slice(0, 10).map((answer) => `${answer.call.kind}: ${answer.status} ${answer.text}`),
        [],
        `${wrong.length} of ${TOTAL_REQUESTS} answers were wrong (seed ${SEED})`,
      );
      const kinds = new Map<string, number>();
      for (const call of calls) kinds.set(call.kind, (kinds.get(call.kind) ?? 0) + 1);
      console.log(
        `load: ${TOTAL_REQUESTS} requests (${
          [...kinds].map(([kind, n]) => `${n} ${kind}`).join(", ")
        }), ${new Set(deliveries.map((event) => event.id)).size} distinct events ` +
          `of ${histories.length} histories, seed ${SEED}`,
      );

      // No lost event: each delivered handled event has its one ledger row.
      assert.deepEqual(await ledgerProblems(h, deliveries), []);

      // One customer per user, the one the profile holds.
      for (const user of [...newUsers, ...withCustomer]) {
        const customers = customersOf(h, user.id);
        assert.equal(customers.length, 1, `user ${user.id} has customers ${customers.join(", ")}`);
        assert.equal((await h.profile(user.id)).stripe_customer_id, customers[0]);
      }

      // Every subscribed profile equals its subscription at Stripe.
      for (const played of [...subscribed, ...histories]) {
        assert.equal(await profileProblem(h, played.user.id, played.subscriptionId), null);
      }
      for (const user of newUsers) {
        assert.equal((await h.profile(user.id)).subscription_status, null);
      }

      // No leaked connection: at most a full handler pool and a full test pool stay open.
      if (ON_SERVER) {
        const after = await connectionCount(h);
        console.log(`load: ${before} database connections before, ${after} after`);
        assert.ok(
          after <= 2 * POOL_MAX,
          `${after} connections after the load (${before} before), more than two pools of ${POOL_MAX}`,
        );
        assert.ok(after - before <= POOL_MAX, `${after - before} more connections than before`);
      }

      // The functions still answer after the load.
      const portal = await fetch(`${url}/functions/v1/stripe-portal`, {
        ...portalCall(withCustomer[0] as TestUser).init,
        client,
      });
      assert.equal(portal.status, 200);
      assert.ok(hasUrl(await portal.json()));
    } finally {
      client.close();
      await server.shutdown();
    }
  },
);
