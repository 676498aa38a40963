/** What the webhook's hostile cases are built from: a sample event, signatures, requests. */
import { signPayload } from "../../../dev/stripe/mod.ts";
import { type CaseContext, encoder, type HostileCase, now, requestTo } from "./common.ts";

/** A well-formed event of a type the webhook does not handle (a valid delivery answers 200). */
export function sampleEvent(): string {
  return JSON.stringify({
    id: `evt_hostile_${crypto.randomUUID().replaceAll("-", "")}`,
    object: "event",
    type: "customer.updated",
    created: now(),
    data: { object: { id: "cus_hostile", object: "customer" } },
  });
}

/** HMAC-SHA256 hex of `t.payload` over raw bytes (so the payload need not be UTF-8). */
export async function hmacHex(
  secret: string,
  timestamp: number,
  payload: Uint8Array,
): Promise<string> {
  const key = await crypto.subtle.importKey(
    "raw",
    encoder.encode(secret),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  const prefix = encoder.encode(`${timestamp}.`);
  const message = new Uint8Array(prefix.length + payload.length);
  message.set(prefix);
  message.set(payload, prefix.length);
  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", key, message));
  return Array.from(mac, (byte) => byte.toString(16).padStart(2, "0")).join("");
}

/** The `v1` hex of a valid signature of `payload` at `timestamp`. */
export async function v1Of(payload: string, secret: string, timestamp = now()): Promise<string> {
  const header = await signPayload(payload, secret, timestamp);
  return header.slice(header.indexOf("v1=") + 3);
}

/** A POST to the webhook with this body and Stripe-Signature header (none when null). */
export function webhookRequest(
  body: BodyInit | null,
  signature: string | null,
  headers: Record<string, string> = { "Content-Type": "application/json" },
): Request {
  const all = new Headers(headers);
  if (signature !== null) all.set("Stripe-Signature", signature);
  return requestTo("webhook", { headers: all, body });
}

/** A row of the webhook's cases: its name, status, exact message, and the request it sends. */
export type WebhookRow = [string, number, string, (c: CaseContext) => Request | Promise<Request>];

/** Rows as cases aimed at the webhook. */
export function asWebhookCases(rows: readonly WebhookRow[]): HostileCase[] {
  return rows.map(([name, status, error, build]) => ({
    name,
    target: "webhook",
    status,
    error,
    build,
  }));
}

/** A body signed correctly, with the endpoint's secret. */
export function signedBody(body: string) {
  return async (c: CaseContext): Promise<Request> =>
    webhookRequest(body, await signPayload(body, c.webhookSecret));
}
