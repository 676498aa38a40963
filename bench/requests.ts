/** Requests the bench sends to the processes it started, timed, and the data they need. */
import type { BenchEnvironment, BenchUser, Subscriber } from "./environment.ts";
import type { ServerProcess } from "./load.ts";

/** Writes a progress line to stderr (the report goes to stdout). */
export function log(line: string): void {
  console.error(`[bench] ${line}`);
}

/** What a POST carries: a user's token, a body, a Stripe signature. */
export interface PostOptions {
  token?: string;
  body?: string;
  signature?: string;
}

/** POSTs to a started server, with its own HTTP client. */
export function post(server: ServerProcess, options: PostOptions = {}): Promise<Response> {
  const headers = new Headers({ "Content-Type": "application/json" });
  if (options.token !== undefined) headers.set("Authorization", `Bearer ${options.token}`);
  if (options.signature !== undefined) headers.set("Stripe-Signature", options.signature);
  return fetch(server.url, {
    method: "POST",
    headers,
    body: options.body ?? "{}",
    client: server.client,
  });
}

/** Milliseconds one request takes, with its status checked. */
export async function timed(expected: number, send: () => Promise<Response>): Promise<number> {
  const started = performance.now();
  const response = await send();
  const body = await response.text();
  const elapsed = performance.now() - started;
  if (response.status !== expected) {
    throw new Error(`Expected ${expected}, got ${response.status}: ${body.slice(0, 200)}`);
  }
  return elapsed;
}

/** Milliseconds `call` takes. */
export async function timedCall(call: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await call();
  return performance.now() - started;
}

/** `count` signed events, taking the subscribers in turn. */
export function signedEvents(env: BenchEnvironment, subscribers: Subscriber[], count: number) {
  return Promise.all(
    Array.from(
      { length: count },
      (_, i) => env.signedEvent(subscribers[i % subscribers.length]!.subscription),
    ),
  );
}

/** Gives users a Stripe customer stored on their profile, as a past checkout would have. */
export async function giveCustomers(env: BenchEnvironment, users: BenchUser[]): Promise<void> {
  for (const user of users) {
    const customer = await env.stripe.customers.create({
      email: user.email,
      metadata: { userId: user.id },
    });
    await env.sql`
      update public.profiles set stripe_customer_id = ${customer.id} where id = ${user.id}`;
  }
}
