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

/** Web Crypto for signature checks: the edge runtime has no Node crypto to spare a start on. */
const cryptoProvider = Stripe.createSubtleCryptoProvider();

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

/** True when Stripe refused an email address (Supabase Auth accepts some that Stripe does not). */
export function isRefusedEmail(error: unknown): boolean {
  return error instanceof Stripe.errors.StripeInvalidRequestError && error.param === "email";
}

/** True for Stripe's "No such ..." answer about the object asked for (it was deleted, or never was). */
export function isMissingObject(
  error: unknown,
): error is InstanceType<typeof Stripe.errors.StripeInvalidRequestError> {
  return error instanceof Stripe.errors.StripeInvalidRequestError &&
    error.code === "resource_missing";
}
