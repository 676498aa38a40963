/** Injected faults: the next matching API calls answer an error, or wait first. */
import { StripeApiError, type StripeErrorBody } from "./errors.ts";

/** Makes the next matching API calls fail or hang. */
export interface Fault {
  /** Only calls with this method (any when unset). */
  method?: string;
  /** Only calls whose path starts with this string or matches this RegExp. */
  path?: string | RegExp;
  /** Answer this status with Stripe's error body (500 `api_error`, 429 `rate_limit`, 402 card declined, ...). */
  status?: number;
  /** How many calls to affect. Default 1. */
  count?: number;
  /** Wait this long before answering (to exercise client timeouts). */
  delayMs?: number;
  /** Override the error body. */
  error?: { type?: StripeErrorBody["type"]; code?: string; message?: string };
}

/** Faults waiting for their calls, first added first matched. */
export class FaultQueue {
  #faults: (Fault & { remaining: number })[] = [];

  /** Queues a fault for its next `count` matching calls. */
  add(fault: Fault): void {
    this.#faults.push({ ...fault, remaining: fault.count ?? 1 });
  }

  /** The fault for this call, if one matches; it is used up after `count` calls. */
  take(method: string, path: string): Fault | undefined {
    const index = this.#faults.findIndex((fault) =>
      (fault.method === undefined || fault.method.toUpperCase() === method) &&
      (fault.path === undefined ||
        (typeof fault.path === "string" ? path.startsWith(fault.path) : fault.path.test(path)))
    );
    const fault = this.#faults[index];
    if (!fault) return undefined;
    fault.remaining -= 1;
    if (fault.remaining <= 0) this.#faults.splice(index, 1);
    return fault;
  }

  /** How many faults wait. */
  get size(): number {
    return this.#faults.length;
  }

  /** Forgets every fault. */
  clear(): void {
    this.#faults = [];
  }
}

/** The error a fault answers: Stripe's body for its status, with the fault's overrides. */
export function faultError(fault: Fault): StripeApiError {
  const status = fault.status ?? 500;
  const defaults: StripeErrorBody = status === 429
    ? {
      type: "invalid_request_error",
      code: "rate_limit",
      message:
        "Testing rate limit: too many requests hit the API too quickly. We recommend an exponential backoff of your requests.",
    }
    : status === 402
    ? {
      type: "card_error",
      code: "card_declined",
      decline_code: "generic_decline",
      message: "Your card was declined.",
    }
    : status === 401
    ? { type: "invalid_request_error", message: "Invalid API Key provided" }
    : status === 404
    ? { type: "invalid_request_error", code: "resource_missing", message: "No such object" }
    : status >= 500
    ? {
      type: "api_error",
      message: "An unknown error occurred while processing your request (injected fault).",
    }
    : { type: "invalid_request_error", message: "Injected fault" };
  return new StripeApiError(status, {
    ...defaults,
    ...(fault.error?.type ? { type: fault.error.type } : {}),
    ...(fault.error?.code ? { code: fault.error.code } : {}),
    ...(fault.error?.message ? { message: fault.error.message } : {}),
  });
}

const ERROR_TYPES: readonly string[] = [
  "api_error",
  "card_error",
  "idempotency_error",
  "invalid_request_error",
];

function isErrorType(value: unknown): value is StripeErrorBody["type"] {
  return typeof value === "string" && ERROR_TYPES.includes(value);
}

/** A fault from control JSON: `path` is a prefix, `pathPattern` a RegExp source. */
export function faultFromJson(body: Record<string, unknown>): Fault {
  const fault: Fault = {};
  if (typeof body.method === "string") fault.method = body.method;
  if (typeof body.path === "string") fault.path = body.path;
  if (typeof body.pathPattern === "string") fault.path = new RegExp(body.pathPattern);
  if (typeof body.status === "number") fault.status = body.status;
  if (typeof body.count === "number") fault.count = body.count;
  if (typeof body.delayMs === "number") fault.delayMs = body.delayMs;
  const error = body.error;
  if (error !== null && typeof error === "object") {
    const { type, code, message } = error as Record<string, unknown>;
    fault.error = {
      ...(isErrorType(type) ? { type } : {}),
      ...(typeof code === "string" ? { code } : {}),
      ...(typeof message === "string" ? { message } : {}),
    };
  }
  if (fault.status === undefined && fault.delayMs === undefined) fault.status = 500;
  return fault;
}
