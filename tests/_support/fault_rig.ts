/**
 * The handlers on a pool of their own behind a TCP proxy, for fault tests: the proxy cuts, delays
 * or refuses the handlers' connections while the harness's direct connection checks what was
 * written. A rig may also carry a Stripe client with its own retries and timeout.
 */
import { connectDatabase, type Database } from "../../supabase/functions/_shared/db.ts";
import type { Handler } from "../../supabase/functions/_shared/http.ts";
import type { Stripe } from "../../supabase/functions/_shared/stripe.ts";
import {
  buildHandlers,
  type Harness,
  signedDelivery,
  testAuthenticator,
  userRequest,
} from "./harness.ts";
import { startDatabaseProxy, type TcpProxy } from "./tcp_proxy.ts";
import { within } from "./time.ts";

/** What checkout and portal answer to a failure of their own. */
export const INTERNAL_ERROR = { error: "Internal server error" };
/** What the webhook answers to a failure of its own (Stripe retries). */
export const WEBHOOK_FAILED = { error: "Webhook handler failed" };

/** The three handlers on their own pool through a proxy, and the proxy's controls. */
export interface Rig {
  proxy: TcpProxy;
  sql: Database;
  checkout: Handler;
  portal: Handler;
  webhook: Handler;
  /** Delivers a signed event; fails when no answer comes within 10 s (instead of hanging). */
  deliver(event: Stripe.Event): Promise<Response>;
  /** POSTs with the user's token; fails when no answer comes within 10 s. */
  post(handler: Handler, token: string): Promise<Response>;
  close(): Promise<void>;
}

/** How a {@link rig} is built. */
export interface RigOptions {
  /** Startup parameters added to the proxied URL (the client sends unknown ones to the server). */
  params?: Record<string, string>;
  /** Pool size. */
  max?: number;
  /** How long a query may wait for the database's answer. */
  queryTimeoutMs?: number;
  /** A Stripe client other than the harness's. */
  stripe?: Stripe;
}

/** Builds the handlers on a pool of their own through a new proxy to the test database. */
export function rig(h: Harness, options: RigOptions = {}): Rig {
  const proxy = startDatabaseProxy(h.databaseUrl);
  const url = new URL(proxy.urlFor(h.databaseUrl));
  for (const [key, value] of Object.entries(options.params ?? {})) {
    url.searchParams.set(key, value);
  }
  const sql = connectDatabase(url.href, {
    max: options.max ?? 4,
    ...(options.queryTimeoutMs && { queryTimeoutMs: options.queryTimeoutMs }),
  });
  const { checkout, portal, webhook } = buildHandlers({
    authenticate: testAuthenticator(h.issuer.jwks, h.issuer),
    stripe: options.stripe ?? h.stripe,
    db: sql,
    logger: h.logger,
  });
  return {
    proxy,
    sql,
    webhook,
    checkout,
    portal,
    deliver: async (event) => await within(webhook(await signedDelivery(event))),
    post: (handler, token) => within(handler(userRequest(token))),
    async close() {
      await sql.end({ timeoutMs: 1000 });
      await proxy.close();
    },
  };
}
