/**
 * The webhook throughput floor: a bare `Deno.serve` doing the least any correct webhook must do.
 * It checks the same HMAC-SHA256 signature with Web Crypto, makes the same Stripe read with
 * `fetch`, and runs one equivalent UPDATE of the profile inside a transaction, sent in a single
 * round trip.
 *
 * With `FLOOR_DESIGN=exactly-once` it applies the event as the webhook's design does instead:
 * the functions' own `applyEventOnce` (ledger claim and subscription lock, then the read, then
 * the ranked write, one transaction of two round trips), still with `fetch` and Web Crypto and
 * without the functions' HTTP layer. Between the two floors lies what the design costs; between
 * this one and the function, what the Stripe SDK and the function's own code cost.
 */
import { applyEventOnce } from "../supabase/functions/_shared/db.ts";
import { createPool, statement } from "../supabase/functions/_shared/pg/mod.ts";
import type { Stripe } from "../supabase/functions/_shared/stripe.ts";
import { toProfileUpdate } from "../supabase/functions/_shared/subscription.ts";

const TOLERANCE_SECONDS = 300;

function env(name: string): string {
  const value = Deno.env.get(name);
  if (value === undefined || value === "") {
    throw new Error(`Missing environment variable "${name}"`);
  }
  return value;
}

const encoder = new TextEncoder();
const secretKey = env("STRIPE_SECRET_KEY");
const apiUrl = env("STRIPE_API_URL").replace(/\/+$/, "");
const sql = createPool(env("SUPABASE_DB_URL"));
const exactlyOnce = Deno.env.get("FLOOR_DESIGN") === "exactly-once";
const key = await crypto.subtle.importKey(
  "raw",
  encoder.encode(env("STRIPE_WEBHOOK_SECRET")),
  { name: "HMAC", hash: "SHA-256" },
  false,
  ["verify"],
);

function fromHex(hex: string): Uint8Array<ArrayBuffer> | undefined {
  if (!/^([0-9a-f]{2})+$/i.test(hex)) return undefined;
  const bytes = new Uint8Array(hex.length / 2);
  for (let i = 0; i < bytes.length; i++) bytes[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return bytes;
}

async function verified(payload: string, header: string): Promise<boolean> {
  let timestamp: number | undefined;
  const signatures: Uint8Array<ArrayBuffer>[] = [];
  for (const part of header.split(",")) {
    const [name, value = ""] = part.split("=", 2);
    if (name === "t") timestamp = Number(value);
    if (name === "v1") {
      const bytes = fromHex(value);
      if (bytes) signatures.push(bytes);
    }
  }
  if (timestamp === undefined || !Number.isFinite(timestamp)) return false;
  if (Math.abs(Date.now() / 1000 - timestamp) > TOLERANCE_SECONDS) return false;
  const signed = encoder.encode(`${timestamp}.${payload}`);
  for (const signature of signatures) {
    if (await crypto.subtle.verify("HMAC", key, signature, signed)) return true;
  }
  return false;
}

interface SubscriptionFields {
  id: string;
  customer: string;
  status: string;
  userId: string;
  priceId: string | null;
  currentPeriodEnd: Date | null;
  cancelAtPeriodEnd: boolean;
}

function record(value: unknown): Record<string, unknown> {
  return typeof value === "object" && value !== null ? value as Record<string, unknown> : {};
}

function toFields(value: unknown): SubscriptionFields | undefined {
  const subscription = record(value);
  const item = record((record(subscription.items).data as unknown[] | undefined)?.[0]);
  const { id, customer, status } = subscription;
  const userId = record(subscription.metadata).userId;
  if (typeof id !== "string" || typeof customer !== "string" || typeof status !== "string") {
    return undefined;
  }
  if (typeof userId !== "string") return undefined;
  const priceId = record(item.price).id;
  const periodEnd = item.current_period_end;
  return {
    id,
    customer,
    status,
    userId,
    priceId: typeof priceId === "string" ? priceId : null,
    currentPeriodEnd: typeof periodEnd === "number" ? new Date(periodEnd * 1000) : null,
    cancelAtPeriodEnd: subscription.cancel_at_period_end === true,
  };
}

/** The subscription as Stripe holds it now, read with `fetch`. */
async function readSubscription(id: string): Promise<unknown> {
  const response = await fetch(`${apiUrl}/v1/subscriptions/${encodeURIComponent(id)}`, {
    headers: { Authorization: `Bearer ${secretKey}` },
  });
  const body: unknown = await response.json();
  if (!response.ok) throw new Error(`Stripe read failed: ${response.status}`);
  return body;
}

Deno.serve({ port: Number(Deno.env.get("PORT") ?? "8000"), hostname: "127.0.0.1" }, async (req) => {
  const payload = await req.text();
  const signature = req.headers.get("stripe-signature");
  if (signature === null || !(await verified(payload, signature))) {
    return Response.json({ error: "Invalid signature" }, { status: 400 });
  }
  const event = record(JSON.parse(payload));
  const id = record(record(event.data).object).id;
  if (typeof id !== "string") return Response.json({ error: "Invalid payload" }, { status: 400 });
  if (exactlyOnce) {
    const { id: eventId, type } = event;
    if (typeof eventId !== "string" || typeof type !== "string") {
      return Response.json({ error: "Invalid payload" }, { status: 400 });
    }
    await applyEventOnce(
      sql,
      { id: eventId, type },
      id,
      async () => toProfileUpdate(await readSubscription(id) as Stripe.Subscription),
    );
    return Response.json({ received: true });
  }
  const subscription = toFields(await readSubscription(id));
  if (subscription === undefined) {
    return Response.json({ error: "Stripe read failed" }, { status: 500 });
  }
  // The whole transaction in one round trip: the least I/O one UPDATE in a transaction needs.
  await sql.query(statement`
    begin;
    update public.profiles set
      stripe_customer_id = ${subscription.customer},
      stripe_subscription_id = ${subscription.id},
      subscription_status = ${subscription.status},
      price_id = ${subscription.priceId},
      current_period_end = ${subscription.currentPeriodEnd},
      cancel_at_period_end = ${subscription.cancelAtPeriodEnd},
      updated_at = now()
    where id = ${subscription.userId}::uuid;
    commit`);
  return Response.json({ received: true });
});
