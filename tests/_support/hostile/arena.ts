/**
 * Where hostile requests are fired: the handlers by target (the controlled ones on a key the
 * tests hold), the users the requests aim at, the rules every answer keeps whatever was sent, and
 * a digest of the database to prove that nothing changed.
 */
import assert from "node:assert/strict";
import type { Handler } from "../../../supabase/functions/_shared/http.ts";
import { buildHandlers, type Harness, testAuthenticator, WEBHOOK_SECRET } from "../harness.ts";
import { within } from "../time.ts";
import type { CaseContext, ControlledKey, Target } from "./common.ts";
import { createControlledKey } from "./keys.ts";

/** How long one hostile request may take before it counts as a hang. */
const ANSWER_TIMEOUT_MS = 10_000;

/** The handlers by target, the controlled ones built exactly as the harness builds its own. */
function handlersOf(h: Harness, controlled: ControlledKey): Record<Target, Handler> {
  const controlledHandlers = buildHandlers({
    authenticate: testAuthenticator(controlled.jwks, h.issuer),
    stripe: h.stripe,
    db: h.database,
    logger: h.logger,
  });
  return {
    checkout: h.checkout,
    portal: h.portal,
    webhook: h.webhook,
    "checkout-controlled": controlledHandlers.checkout,
    "portal-controlled": controlledHandlers.portal,
  };
}

/** The handlers and the contexts the hostile requests are built in. */
export interface Arena {
  handlers: Record<Target, Handler>;
  contexts: Record<Target, CaseContext>;
  controlled: ControlledKey;
}

/**
 * Makes the users the hostile requests aim at: one already subscribed (a valid token gets 400
 * "Already subscribed" from checkout) and one without a customer (400 from the portal). Neither
 * answer reaches Stripe or writes to the database.
 */
export async function arena(h: Harness): Promise<Arena> {
  const subscribed = await h.createUser();
  await h
    .sql`update public.profiles set subscription_status = 'active' where id = ${subscribed.id}`;
  const withoutCustomer = await h.createUser();
  const controlled = await createControlledKey();
  const base = { issuer: h.issuer, controlled, webhookSecret: WEBHOOK_SECRET };
  const checkout = { ...base, user: subscribed, acceptedMessage: "Already subscribed" };
  const portal = { ...base, user: withoutCustomer, acceptedMessage: "No active subscription" };
  return {
    handlers: handlersOf(h, controlled),
    contexts: {
      checkout,
      portal,
      webhook: checkout,
      "checkout-controlled": checkout,
      "portal-controlled": portal,
    },
    controlled,
  };
}

/** A digest of every row the functions could write, and of the users they read. */
export async function databaseDigest(h: Harness): Promise<string> {
  const [row] = await h.sql<{ profiles: string; events: string; users: string }[]>`
    select
      (select md5(coalesce(string_agg(t::text, '|' order by t::text), ''))
         from public.profiles t) as profiles,
      (select md5(coalesce(string_agg(t::text, '|' order by t::text), ''))
         from public.stripe_events t) as events,
      (select md5(coalesce(string_agg(t::text, '|' order by t::text), ''))
         from auth.users t) as users`;
  assert.ok(row);
  return `profiles ${row.profiles}, stripe_events ${row.events}, auth.users ${row.users}`;
}

/** Answers `request`, or fails when no answer comes in time (a hang is a failure too). */
export function answer(handler: Handler, request: Request): Promise<Response> {
  return within(handler(request), ANSWER_TIMEOUT_MS, "answer");
}

/**
 * The rules every answer keeps, whatever was sent: no 5xx, CORS, and a refusal's body is exactly
 * `{"error": "<short sentence>"}`. Returns the refusal's message (null for 2xx and HEAD).
 */
export async function checkAnswer(
  response: Response,
  method: string,
): Promise<{ problems: string[]; message: string | null }> {
  const problems: string[] = [];
  if (response.status >= 500) problems.push(`status ${response.status}`);
  if (response.headers.get("access-control-allow-origin") !== "*") {
    problems.push("no Access-Control-Allow-Origin: *");
  }
  const text = await response.text();
  if (method === "HEAD" || (response.status >= 200 && response.status < 300)) {
    return { problems, message: null };
  }
  if (response.headers.get("content-type") !== "application/json") {
    problems.push(`content-type ${response.headers.get("content-type")}`);
  }
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    problems.push(`a body that is not JSON: ${text.slice(0, 200)}`);
    return { problems, message: null };
  }
  const keys = typeof body === "object" && body !== null ? Object.keys(body) : [];
  const message = keys.length === 1 && keys[0] === "error"
    ? (body as { error: unknown }).error
    : undefined;
  if (typeof message !== "string" || message === "" || message.length > 120 || /\n/.test(message)) {
    problems.push(`a body that is not a bare {"error": sentence}: ${text.slice(0, 200)}`);
    return { problems, message: null };
  }
  return { problems, message };
}
