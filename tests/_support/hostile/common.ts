/**
 * The hostile input corpus's common ground: what a case is (a request, the function it goes to
 * and the exact refusal it must get), the messages a refusal may carry, and the request builders
 * every family of cases uses.
 */
import { base64url } from "npm:jose@6.2.18";
import type { LocalIssuer } from "../../../dev/issuer.ts";
import type { JsonWebKeySet } from "../../../supabase/functions/_shared/config.ts";
import type { TestUser } from "../harness.ts";

/** The function a case is sent to. `*-controlled` are the same handlers built on a key we hold. */
export type Target =
  | "checkout"
  | "portal"
  | "webhook"
  | "checkout-controlled"
  | "portal-controlled";

/** An ES256 key the tests hold, with its public JWKS, that signs arbitrary bytes. */
export interface ControlledKey {
  kid: string;
  jwks: JsonWebKeySet;
  /** A compact JWS over the given header and payload (objects are JSON-encoded). */
  sign(header: unknown, payload: unknown): Promise<string>;
}

/** What a case builds its request from. */
export interface CaseContext {
  /**
   * A user whose valid token its target refuses with 400, without a Stripe call: active
   * (checkout: "Already subscribed") or without a customer (portal: "No active subscription").
   */
  user: TestUser;
  /** The 400 message a valid token of `user` gets from this target. */
  acceptedMessage: string;
  issuer: LocalIssuer;
  /** The key behind the `*-controlled` handlers: signs any header and payload bytes. */
  controlled: ControlledKey;
  webhookSecret: string;
}

/** One hostile request and the answer it must get. */
export interface HostileCase {
  name: string;
  target: Target;
  /** The exact status. */
  status: number;
  /** The exact message, when it is determined; otherwise any message of {@link MESSAGES}. */
  error?: string | ((context: CaseContext) => string);
  build(context: CaseContext): Request | Promise<Request>;
}

/** Every message a refusal may carry, by status: short sentences, never a cause. */
export const MESSAGES: Readonly<Record<number, readonly string[]>> = {
  400: [
    "Already subscribed",
    "No active subscription",
    "Invalid signature",
    "Invalid payload",
  ],
  401: [
    "Missing authorization header",
    "Invalid authorization header",
    "An API key is not a user access token",
    "Invalid access token",
    "Access token is not a signed-in user's",
    "User not found",
  ],
  405: ["Method not allowed"],
  413: ["Payload too large"],
};

export const encoder = new TextEncoder();
export const KIB = 1024;
export const MIB = 1024 * KIB;
export const YEAR = 365 * 24 * 3600;

/** Base64url of a string, bytes or a JSON value. */
export function segment(value: unknown): string {
  if (value instanceof Uint8Array) return base64url.encode(value);
  return base64url.encode(typeof value === "string" ? value : JSON.stringify(value));
}

/** The current time in seconds, as tokens and signatures count it. */
export function now(): number {
  return Math.floor(Date.now() / 1000);
}

const PATHS: Record<Target, string> = {
  checkout: "/functions/v1/stripe-checkout",
  portal: "/functions/v1/stripe-portal",
  webhook: "/functions/v1/stripe-webhook",
  "checkout-controlled": "/functions/v1/stripe-checkout",
  "portal-controlled": "/functions/v1/stripe-portal",
};

/** A request to `target`, POST unless `init` says otherwise. */
export function requestTo(target: Target, init: RequestInit = {}): Request {
  return new Request(`http://127.0.0.1${PATHS[target]}`, { method: "POST", ...init });
}

/** A POST whose Authorization header is exactly `authorization` (none when null). */
export function withAuthorization(
  target: Target,
  authorization: string | null,
  init: RequestInit = {},
): Request {
  const headers = new Headers(init.headers);
  if (authorization !== null) headers.set("Authorization", authorization);
  return requestTo(target, { ...init, headers });
}

/** A body stream of `chunks`, then closed, errored (a client that drops mid-upload), or endless. */
export function streamOf(chunks: Uint8Array[], end: "close" | "error" | "endless"): ReadableStream {
  let index = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      const chunk = chunks[index++ % Math.max(chunks.length, 1)];
      if (end === "endless" || index <= chunks.length) {
        controller.enqueue(chunk ?? new Uint8Array(KIB));
        return;
      }
      if (end === "error") controller.error(new Error("connection reset by peer"));
      else controller.close();
    },
  });
}

/** Bytes that are not UTF-8. */
export const INVALID_UTF8 = new Uint8Array([
  0x7b,
  0xff,
  0xfe,
  0xc3,
  0x28,
  0xa0,
  0xa1,
  0xe2,
  0x28,
  0x7d,
]);

/** `[[[...]]]`, `depth` deep. */
export function deepJson(depth: number): string {
  return "[".repeat(depth) + "]".repeat(depth);
}
