/**
 * What the emulator's tests share: an emulator with the real SDK pointed at it, the checkout a
 * subscriber goes through, a webhook receiver, and readers for responses and pages.
 */
import assert from "node:assert/strict";
import { createStripe, Stripe } from "../../supabase/functions/_shared/stripe.ts";
import {
  DEFAULT_PRICE_ID,
  type RunningStripeEmulator,
  startStripeEmulator,
  type StripeEmulatorOptions,
} from "../../dev/stripe/mod.ts";

export { Stripe };

/** The secret key of every emulator the tests start. */
export const SECRET_KEY = "sk_test_emulator";

/** A running emulator with a client pointed at it. */
export interface Setup extends RunningStripeEmulator {
  stripe: Stripe;
}

/** A client of `running` with the given key (no retries, so every answer is seen). */
export function clientFor(
  running: RunningStripeEmulator,
  secretKey: string,
  options: { maxNetworkRetries?: number; timeoutMs?: number } = {},
): Stripe {
  const url = new URL(running.url);
  return createStripe({
    secretKey,
    api: { host: url.hostname, port: Number(url.port), protocol: "http" },
    maxNetworkRetries: options.maxNetworkRetries ?? 0,
    ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
  });
}

/** Starts an emulator and a client pointed at it; both go away with `close`. */
export async function setup(options: StripeEmulatorOptions = {}): Promise<Setup> {
  const running = await startStripeEmulator({ secretKey: SECRET_KEY, ...options });
  return { ...running, stripe: clientFor(running, options.secretKey ?? SECRET_KEY) };
}

/** Runs `test` with a fresh emulator that is closed afterwards, whatever happens. */
export async function withEmulator(
  options: StripeEmulatorOptions,
  test: (running: Setup) => Promise<void>,
): Promise<void> {
  const running = await setup(options);
  try {
    await test(running);
  } finally {
    await running.close();
  }
}

/** The checkout parameters the project's checkout function sends. */
export function checkoutParams(
  customer: string,
  userId = "user-1",
  price = DEFAULT_PRICE_ID,
): Stripe.Checkout.SessionCreateParams {
  return {
    mode: "subscription",
    allowed_payment_method_types: ["card"],
    line_items: [{ price, quantity: 1 }],
    customer,
    client_reference_id: userId,
    metadata: { userId, email: "ada@example.com" },
    subscription_data: { metadata: { userId } },
    success_url: "http://localhost:3000/dashboard?session_id={CHECKOUT_SESSION_ID}",
    cancel_url: "http://localhost:3000/dashboard?canceled=true",
  };
}

/** A customer with a paid subscription (or trialing, given trial days) to `price`. */
export async function subscribed(
  running: Setup,
  options: { trialDays?: number; price?: string; email?: string } = {},
) {
  const customer = await running.stripe.customers.create({
    email: options.email ?? "ada@example.com",
  });
  const session = await running.stripe.checkout.sessions.create(
    checkoutParams(customer.id, "user-1", options.price),
  );
  const subscription = running.emulator.completeCheckout(session.id, {
    trialDays: options.trialDays,
  });
  return { customer, session, subscription };
}

/** A response header of an SDK result (the fetch client exposes a `Headers`). */
export function header(
  result: { lastResponse: { headers: unknown } },
  name: string,
): string | null {
  const headers = result.lastResponse.headers;
  if (headers instanceof Headers) return headers.get(name);
  const value = (headers as Record<string, string | undefined>)[name];
  return value ?? null;
}

/** The types of the events recorded after the first `start`. */
export function typesSince(running: RunningStripeEmulator, start: number): string[] {
  return running.emulator.events().slice(start).map((event) => event.type);
}

/** Awaits a promise that must reject with `type`, and returns the error. */
export async function rejects<T extends Error>(
  promise: Promise<unknown>,
  type: abstract new (...args: never[]) => T,
): Promise<T> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof type, `expected ${type.name}, got ${error}`);
    return error;
  }
  assert.fail(`expected ${type.name}, but the call succeeded`);
}

/** Calls a control route with the emulator's key; a JSON body when given. */
export async function control(
  running: RunningStripeEmulator,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; body: unknown }> {
  const response = await fetch(`${running.url}/_emulator/${path}`, {
    method,
    headers: { Authorization: `Bearer ${SECRET_KEY}`, "Content-Type": "application/json" },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: response.status, body: await response.json() };
}

/** A delivery received by {@link receiver}. */
export interface Received {
  body: string;
  signature: string;
  headers: Headers;
  path: string;
}

/** A webhook receiver that records deliveries and answers the given statuses in turn (then 200). */
export function receiver(statuses: number[] = []) {
  const received: Received[] = [];
  const server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen: () => {} }, async (req) => {
    received.push({
      body: await req.text(),
      signature: req.headers.get("stripe-signature") ?? "",
      headers: req.headers,
      path: new URL(req.url).pathname,
    });
    return new Response(null, { status: statuses.shift() ?? 200 });
  });
  return {
    received,
    url: `http://127.0.0.1:${server.addr.port}/webhook`,
    close: () => server.shutdown(),
  };
}

/** Verifies a delivery's signature with the SDK and returns its event. */
export async function verified(delivery: Received, secret: string): Promise<Stripe.Event> {
  return await new Stripe(SECRET_KEY).webhooks.constructEventAsync(
    delivery.body,
    delivery.signature,
    secret,
    undefined,
    Stripe.createSubtleCryptoProvider(),
  );
}

/** The labels of a page's buttons, as a person reads them. */
export function buttons(html: string): string[] {
  return [...html.matchAll(/<button[^>]*>([^<]*)<\/button>/g)].map((match) => match[1] ?? "");
}

/** Submits a page's form the way a browser does, without following the redirect. */
export function submit(url: string, form: Record<string, string> | string): Promise<Response> {
  return fetch(url, {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams(typeof form === "string" ? { action: form } : form),
    redirect: "manual",
  });
}

/** A page's HTML. */
export async function page(url: string): Promise<{ status: number; html: string }> {
  const response = await fetch(url);
  return { status: response.status, html: await response.text() };
}
