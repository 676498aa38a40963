/** Database queries, round trips, transactions and Stripe calls of one request of each kind. */
import { buildHandlers, testAuthenticator } from "../../tests/_support/harness.ts";
import { connectDatabase } from "../../supabase/functions/_shared/db.ts";
import type { Handler } from "../../supabase/functions/_shared/http.ts";
import { createLogger } from "../../supabase/functions/_shared/log.ts";
import { statement } from "../../supabase/functions/_shared/pg/mod.ts";
import { type BenchEnvironment, SITE_URL, WEBHOOK_SECRET } from "../environment.ts";
import { median } from "../load.ts";
import type { PostOptions } from "../requests.ts";
import { countRoundTrips } from "../round_trips.ts";
import { columns, type Table } from "../tables.ts";

interface RequestCounts {
  queries: number;
  transactions: number;
  stripeCalls: number;
  roundTrips: number;
}

const KINDS = [
  { key: "checkoutFirst", label: "checkout, first", request: "checkout" },
  { key: "checkoutRepeat", label: "checkout, repeat", request: "checkout" },
  { key: "portal", label: "portal", request: "portal" },
  { key: "webhook", label: "webhook event", request: "webhook" },
] as const;

type Kind = typeof KINDS[number]["key"];

/** Counts what one request costs, with the handlers in this process on a counting relay. */
export async function measureCounts(env: BenchEnvironment): Promise<Table[]> {
  let queries: string[] = [];
  const relay = countRoundTrips(env.databaseUrl);
  const sql = connectDatabase(relay.url, { onQuery: (query) => queries.push(query) });
  try {
    await sql.query(statement`select 1`);
    const { checkout, portal, webhook } = buildHandlers({
      authenticate: testAuthenticator(env.issuer.jwks, env.issuer),
      stripe: env.stripe,
      db: sql,
      logger: createLogger(() => {}),
    }, { siteUrl: SITE_URL, webhookSecret: WEBHOOK_SECRET });
    const emulator = env.stripeServer.emulator;

    const count = async (handler: Handler, init: PostOptions): Promise<RequestCounts> => {
      const headers = new Headers({ "Content-Type": "application/json" });
      if (init.token) headers.set("Authorization", `Bearer ${init.token}`);
      if (init.signature) headers.set("Stripe-Signature", init.signature);
      const stripeBefore = emulator.requests().length;
      queries = [];
      relay.reset();
      const response = await handler(
        new Request("http://127.0.0.1/", { method: "POST", headers, body: init.body ?? "{}" }),
      );
      const body = await response.text();
      if (!response.ok) throw new Error(`Count request answered ${response.status}: ${body}`);
      return {
        queries: queries.length,
        transactions: queries.filter((query) => /^\s*begin\b/i.test(query)).length,
        stripeCalls: emulator.requests().length - stripeBefore,
        roundTrips: relay.count(),
      };
    };

    const samples: Record<Kind, RequestCounts[]> = {
      checkoutFirst: [],
      checkoutRepeat: [],
      portal: [],
      webhook: [],
    };
    const users = await env.createUsers(3);
    const [subscriber] = await env.createSubscribers(1);
    for (const user of users) {
      samples.checkoutFirst.push(await count(checkout, { token: user.token }));
      samples.checkoutRepeat.push(await count(checkout, { token: user.token }));
      samples.portal.push(await count(portal, { token: user.token }));
      samples.webhook.push(await count(webhook, await env.signedEvent(subscriber!.subscription)));
    }
    return [{
      id: "counts",
      title: "Database queries, round trips and Stripe calls per request",
      columns: columns(
        ["label", "request"],
        ["queries", "queries"],
        ["roundTrips", "round trips"],
        ["transactions", "transactions"],
        ["stripeCalls", "Stripe calls"],
      ),
      rows: KINDS.map(({ key, label, request }) => {
        const list = samples[key];
        const of = (figure: keyof RequestCounts) => median(list.map((c) => c[figure]));
        return {
          label,
          request,
          queries: of("queries"),
          roundTrips: of("roundTrips"),
          transactions: of("transactions"),
          stripeCalls: of("stripeCalls"),
        };
      }),
      notes: [
        "Queries: SQL texts sent, each one message of the simple protocol that may hold several " +
        "statements; a transaction's BEGIN travels with its first query and its COMMIT with its " +
        "last. Round trips are counted on the wire by a relay (bench/round_trips.ts).",
      ],
    }];
  } finally {
    await sql.end();
    await relay.close();
  }
}
