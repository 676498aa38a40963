/** Stripe's error answers: the error type, its common causes, and the body on the wire. */

/** The `error` member of a Stripe error body. */
export interface StripeErrorBody {
  type: "api_error" | "card_error" | "idempotency_error" | "invalid_request_error";
  code?: string;
  decline_code?: string;
  message: string;
  param?: string;
}

/** An error answered with Stripe's body and the given HTTP status. */
export class StripeApiError extends Error {
  constructor(readonly status: number, readonly body: StripeErrorBody) {
    super(body.message);
    this.name = "StripeApiError";
  }
}

/** 404 (or 400 for a referenced object) `resource_missing`: "No such customer: 'cus_x'". */
export function resourceMissing(
  kind: string,
  id: string,
  param = "id",
  status = 404,
): StripeApiError {
  return new StripeApiError(status, {
    type: "invalid_request_error",
    code: "resource_missing",
    message: `No such ${kind}: '${id}'`,
    param,
  });
}

/** 400 `parameter_missing`. */
export function parameterMissing(param: string): StripeApiError {
  return new StripeApiError(400, {
    type: "invalid_request_error",
    code: "parameter_missing",
    message: `Missing required param: ${param}.`,
    param,
  });
}

/** 400 `parameter_unknown`. */
export function parameterUnknown(param: string): StripeApiError {
  return new StripeApiError(400, {
    type: "invalid_request_error",
    code: "parameter_unknown",
    message:
      `Received unknown parameter: ${param}. Did you mean to pass this elsewhere? See https://stripe.com/docs/api`,
    param,
  });
}

/** 400 for a parameter present with an unusable value. */
export function parameterInvalid(param: string, message: string, code?: string): StripeApiError {
  return new StripeApiError(400, { type: "invalid_request_error", code, message, param });
}

/** 400 for a request that is well formed but that Stripe refuses as a whole. */
export function invalidRequest(message: string, code?: string): StripeApiError {
  return new StripeApiError(400, { type: "invalid_request_error", code, message });
}

/** Stripe's error body: the given fields plus `doc_url` and `request_log_url`. */
export function errorBody(
  body: StripeErrorBody,
  requestId: string,
  livemode: boolean,
  now: number,
): Record<string, unknown> {
  return {
    ...(body.code ? { code: body.code } : {}),
    ...(body.decline_code ? { decline_code: body.decline_code } : {}),
    ...(body.code
      ? { doc_url: `https://stripe.com/docs/error-codes/${body.code.replaceAll("_", "-")}` }
      : {}),
    message: body.message,
    ...(body.param ? { param: body.param } : {}),
    request_log_url: `https://dashboard.stripe.com/${
      livemode ? "" : "test/"
    }logs/${requestId}?t=${now}`,
    type: body.type,
  };
}
