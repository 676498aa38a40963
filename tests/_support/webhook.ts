/** Delivering events to the webhook and reading what it answered and logged. */
import type { Stripe } from "../../supabase/functions/_shared/stripe.ts";
import { eventsAbout, single } from "./emulator.ts";
import { type Harness, WEBHOOK_URL } from "./harness.ts";
import { assertAnswer } from "./responses.ts";

/** Delivers an event and asserts Stripe's happy answer. */
export async function deliverOk(h: Harness, event: Stripe.Event | object | string): Promise<void> {
  await assertAnswer(await h.deliver(event), 200, { received: true });
}

/** Delivers each event in turn, asserting each answer. */
export async function deliverAll(h: Harness, events: readonly Stripe.Event[]): Promise<void> {
  for (const event of events) await deliverOk(h, event);
}

/** Runs a change at Stripe and delivers only the event of `type` it produced. */
export async function deliverOnly(
  h: Harness,
  subscriptionId: string,
  type: string,
  change: () => unknown,
): Promise<void> {
  const mark = h.emulator.events().length;
  change();
  await deliverOk(h, single(eventsAbout(h, mark, [subscriptionId]), type));
}

/** POSTs a body with exactly these headers (no signature unless given) to the webhook. */
export function postRaw(
  h: Harness,
  body: BodyInit | null,
  headers: Record<string, string>,
  method = "POST",
): Promise<Response> {
  return h.webhook(new Request(WEBHOOK_URL, { method, headers, body }));
}

/** Asserts the webhook's refusal of a signature. */
export async function assertInvalidSignature(response: Response): Promise<void> {
  await assertAnswer(response, 400, { error: "Invalid signature" });
}

/** The outcome the webhook logged for each delivery of an event, oldest first. */
export function eventOutcomes(h: Harness, eventId: string): unknown[] {
  return h.logs
    .map((line) => JSON.parse(line) as Record<string, unknown>)
    .filter((fields) => fields.eventId === eventId)
    .map((fields) => fields.eventOutcome);
}
