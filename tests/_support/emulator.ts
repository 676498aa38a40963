/** What the tests read from the Stripe emulator: events, customers, the calls it received. */
import assert from "node:assert/strict";
import type { CompleteCheckoutOptions, RecordedRequest } from "../../dev/stripe/mod.ts";
import type { Stripe } from "../../supabase/functions/_shared/stripe.ts";
import type { Harness } from "./harness.ts";

/** Events recorded after `mark` whose object mentions one of `ids` (subscription, session, ...). */
export function eventsAbout(h: Harness, mark: number, ids: readonly string[]): Stripe.Event[] {
  return h.emulator.events().slice(mark).filter((event) => {
    const text = JSON.stringify(event.data.object);
    return ids.some((id) => text.includes(`"${id}"`));
  });
}

/** The one event of `type` among `events`. */
export function single(events: readonly Stripe.Event[], type: string): Stripe.Event {
  const found = events.filter((event) => event.type === type);
  assert.equal(found.length, 1, `expected one ${type} event, found ${found.length}`);
  const [event] = found;
  assert.ok(event);
  return event;
}

/** A checkout paid at Stripe: its session, the subscription it made, and their events. */
export interface CompletedCheckout {
  session: Stripe.Checkout.Session;
  subscription: Stripe.Subscription;
  /** The session's checkout.session.completed event (not delivered). */
  completed: Stripe.Event;
  /** Every event about this session and subscription so far. */
  events(): Stripe.Event[];
}

/** Pays the user's open checkout session at the emulator, as the person would on its page. */
export function completeOpenCheckout(
  h: Harness,
  userId: string,
  options: CompleteCheckoutOptions = {},
): CompletedCheckout {
  const session = h.emulator.checkoutSessions().findLast((s) =>
    s.client_reference_id === userId && s.status === "open"
  );
  assert.ok(session, "checkout made no open session");
  const mark = h.emulator.events().length;
  const subscription = h.emulator.completeCheckout(session.id, options);
  const events = () => eventsAbout(h, mark, [session.id, subscription.id]);
  return {
    session,
    subscription,
    completed: single(events(), "checkout.session.completed"),
    events,
  };
}

/** A well-formed event of `type` about `object` that the emulator never sent. */
export function syntheticEvent(
  type: string,
  object: Record<string, unknown>,
): Record<string, unknown> {
  return {
    id: `evt_test_${crypto.randomUUID().replaceAll("-", "")}`,
    object: "event",
    api_version: "2026-10-28.endive",
    created: Math.floor(Date.now() / 1000),
    data: { object },
    livemode: false,
    pending_webhooks: 1,
    request: { id: null, idempotency_key: null },
    type,
  };
}

/**
 * The ids of the live customers the emulator holds for a user (by the metadata checkout gives
 * them). Reads the emulator's map in place: a snapshot of every customer per call is slow.
 */
export function customersOf(h: Harness, userId: string): string[] {
  return [...h.emulator.state.customers.values()]
    .filter((customer) => !customer.deleted && customer.metadata?.userId === userId)
    .map((customer) => customer.id);
}

/** The calls that created a checkout session for the user. */
export function sessionRequestsOf(h: Harness, userId: string): RecordedRequest[] {
  return h.emulator.requests().filter((request) =>
    request.method === "POST" && request.path === "/v1/checkout/sessions" &&
    request.params.client_reference_id === userId
  );
}

/** The calls that created a customer for the user. */
export function customerCreationsOf(h: Harness, userId: string): RecordedRequest[] {
  return h.emulator.requests().filter((request) =>
    request.method === "POST" && request.path === "/v1/customers" &&
    JSON.stringify(request.params.metadata) === JSON.stringify({ userId })
  );
}

/** The calls that opened a billing portal session for the customer. */
export function portalRequestsOf(h: Harness, customerId: string): RecordedRequest[] {
  return h.emulator.requests().filter((request) =>
    request.method === "POST" && request.path === "/v1/billing_portal/sessions" &&
    request.params.customer === customerId
  );
}
