/** Who is calling: the secret key of a request, checked as Stripe checks it. */
import { StripeApiError } from "./errors.ts";

/** An accepted caller. */
export interface Caller {
  key: string;
  /** Whether the key is a live-mode key (`sk_live_...`). */
  livemode: boolean;
}

/** The key in `Authorization: Bearer <key>` or Basic auth's user name, else "". */
function keyOf(header: string): string {
  if (header.startsWith("Bearer ")) return header.slice(7).trim();
  if (header.startsWith("Basic ")) {
    try {
      return atob(header.slice(6).trim()).split(":")[0] ?? "";
    } catch {
      return "";
    }
  }
  return "";
}

/** `sk_test_4eC3...` shown as Stripe shows a key in its errors: most of it masked. */
export function redactKey(key: string): string {
  if (key.length <= 12) return key.replace(/./g, "*");
  return `${key.slice(0, 8)}${"*".repeat(Math.max(0, key.length - 12))}${key.slice(-4)}`;
}

/**
 * The caller of a request, or the 401 Stripe answers. With `expected` set only that key is
 * accepted (a `sk_live_` key makes a live-mode account); without it, any test-mode secret key.
 */
export function authenticate(
  authorization: string | null,
  expected: string | undefined,
): Caller | StripeApiError {
  const key = keyOf(authorization ?? "");
  if (key === "") {
    return new StripeApiError(401, {
      type: "invalid_request_error",
      message:
        "You did not provide an API key. You need to provide your API key in the Authorization header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY'). See https://stripe.com/docs/api#authentication for details, or we can help at https://support.stripe.com/.",
    });
  }
  const valid = expected === undefined ? key.startsWith("sk_test_") : key === expected;
  if (!valid) {
    return new StripeApiError(401, {
      type: "invalid_request_error",
      code: "api_key_invalid",
      message: `Invalid API Key provided: ${redactKey(key)}`,
    });
  }
  return { key, livemode: key.startsWith("sk_live_") };
}
