/** The Stripe client: the only module that imports the Stripe SDK. */
import Stripe from "npm:stripe@23.1.0";
import type { StripeApiLocation } from "./config.ts";

export { Stripe };

/** The API version every request is pinned to; webhook payloads arrive in it too. */
export const STRIPE_API_VERSION = "2026-10-28.endive";

/** Options for {@link createStripe}. */
export interface StripeOptions {
  secretKey: string;
  /** A Stripe-compatible API (the local emulator); Stripe's own when undefined. */
  api?: StripeApiLocation | undefined;
  /** Retries of failed calls (network errors, 409, 429, 5xx), with the same idempotency key. */
  maxNetworkRetries?: number;
  /** Milliseconds before a call is abandoned. */
  timeoutMs?: number;
}

/** Creates a Stripe client that uses `fetch`, as the edge runtime requires. */
export function createStripe(options: StripeOptions): Stripe {
  return new Stripe(options.secretKey, {
    apiVersion: STRIPE_API_VERSION,
    httpClient: Stripe.createFetchHttpClient(),
    maxNetworkRetries: options.maxNetworkRetries ?? 2,
    timeout: options.timeoutMs ?? 10_000,
    telemetry: false,
    appInfo: { name: "supabase-stripe-billing" },
    ...options.api,
  });
}

/**
 * Makes an SDK call without the stack trace of its caller that the SDK captures and formats on
 * every request, for its errors: about 0.1 ms of CPU per call, a third of a subscription read
 * against the local emulator. The SDK starts its request synchronously, so only its capture
 * sees the limit; its errors keep their own frames.
 */
export function withoutCallerStack<T>(call: () => T): T {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return call();
  } finally {
    Error.stackTraceLimit = limit;
  }
}

const encoder = new TextEncoder();
const HEX = Array.from({ length: 256 }, (_, byte) => byte.toString(16).padStart(2, "0"));

/**
 * Stripe's Web Crypto signature check. The SDK's own provider imports the HMAC key for every
 * event; this one imports each webhook secret's key once per worker.
 */
export class KeyCachingCryptoProvider extends Stripe.CryptoProvider {
  #keys = new Map<string, Promise<CryptoKey>>();
  #subtle = Stripe.createSubtleCryptoProvider();

  override computeHMACSignature(): string {
    throw new Error("Only asynchronous signature checks are supported");
  }

  override async computeHMACSignatureAsync(payload: string, secret: string): Promise<string> {
    let key = this.#keys.get(secret);
    if (key === undefined) {
      key = crypto.subtle.importKey(
        "raw",
        encoder.encode(secret),
        { name: "HMAC", hash: "SHA-256" },
        false,
        ["sign"],
      );
      this.#keys.set(secret, key);
      key.catch(() => this.#keys.delete(secret));
    }
    const signature = await crypto.subtle.sign("HMAC", await key, encoder.encode(payload));
    let hex = "";
    for (const byte of new Uint8Array(signature)) hex += HEX[byte];
    return hex;
  }

  override computeSHA256Async(data: Uint8Array): Promise<Uint8Array> {
    return this.#subtle.computeSHA256Async(data);
  }
}

const cryptoProvider = new KeyCachingCryptoProvider();

/** Verifies a webhook's signature (default tolerance, 300 s) and parses its event. */
export function verifyWebhook(
  stripe: Stripe,
  payload: string,
  signature: string,
  secret: string,
): Promise<Stripe.Event> {
  return stripe.webhooks.constructEventAsync(payload, signature, secret, undefined, cryptoProvider);
}

/** True for Stripe's "No such customer" answer, after the customer was deleted at Stripe. */
export function isMissingCustomer(error: unknown): boolean {
  return error instanceof Stripe.errors.StripeInvalidRequestError &&
    error.code === "resource_missing" && error.param === "customer";
}
