/** Stripe-style API errors and typed readers for decoded parameters. */
import type { Param, ParamObject } from "./form.ts";

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
function parameterUnknown(param: string): StripeApiError {
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

/** Renders a nested parameter path the way Stripe names it: `line_items[0][price]`. */
function paramName(path: readonly (string | number)[]): string {
  const [head, ...rest] = path;
  return `${head ?? ""}${rest.map((segment) => `[${segment}]`).join("")}`;
}

/** Rejects parameters that the endpoint does not know, named in full under `prefix`. */
export function rejectUnknown(
  params: ParamObject,
  known: readonly string[],
  prefix: string[] = [],
): void {
  for (const key of Object.keys(params)) {
    if (!known.includes(key)) throw parameterUnknown(paramName([...prefix, key]));
  }
}

/** Reads an optional string; an empty string counts as absent unless `allowEmpty`. */
export function optionalString(params: ParamObject, key: string, prefix: string[] = []) {
  const value = params[key];
  if (value === undefined) return undefined;
  if (typeof value !== "string") {
    throw parameterInvalid(
      paramName([...prefix, key]),
      `Invalid string: ${JSON.stringify(value)}`,
    );
  }
  return value;
}

/** Reads a required, non-empty string. */
export function requiredString(params: ParamObject, key: string, prefix: string[] = []): string {
  const value = optionalString(params, key, prefix);
  if (value === undefined) throw parameterMissing(paramName([...prefix, key]));
  if (value === "") {
    throw parameterInvalid(
      paramName([...prefix, key]),
      `You passed an empty string for '${
        paramName([...prefix, key])
      }'. We assume empty values are an attempt to unset a parameter; however '${
        paramName([...prefix, key])
      }' cannot be unset. You should remove '${
        paramName([...prefix, key])
      }' from your request or supply a non-empty value.`,
      "parameter_invalid_empty",
    );
  }
  return value;
}

/** Reads an optional boolean sent as `true`/`false`. */
export function optionalBoolean(params: ParamObject, key: string): boolean | undefined {
  const value = optionalString(params, key);
  if (value === undefined) return undefined;
  if (value === "true") return true;
  if (value === "false") return false;
  throw parameterInvalid(key, `Invalid boolean: ${value}`);
}

/** Reads an optional integer; `""` is returned as null (Stripe's "unset"). */
export function optionalInteger(
  params: ParamObject,
  key: string,
  prefix: string[] = [],
): number | null | undefined {
  const value = optionalString(params, key, prefix);
  if (value === undefined) return undefined;
  if (value === "") return null;
  if (!/^-?\d+$/.test(value)) {
    throw parameterInvalid(
      paramName([...prefix, key]),
      `Invalid integer: ${value}`,
      "parameter_invalid_integer",
    );
  }
  return Number(value);
}

/** Reads an optional nested object. */
export function optionalObject(
  params: ParamObject,
  key: string,
  prefix: string[] = [],
): ParamObject | undefined {
  const value = params[key];
  if (value === undefined || value === "") return undefined;
  if (typeof value === "string" || Array.isArray(value)) {
    throw parameterInvalid(paramName([...prefix, key]), `Invalid hash`);
  }
  return value;
}

/** Reads an optional array (`a[0]=x` or `a[]=x`). */
export function optionalArray(
  params: ParamObject,
  key: string,
  prefix: string[] = [],
): Param[] | undefined {
  const value = params[key];
  if (value === undefined) return undefined;
  if (!Array.isArray(value)) {
    throw parameterInvalid(paramName([...prefix, key]), `Invalid array`);
  }
  return value;
}

/** Reads `metadata`: a flat map of strings, `""` to unset (null in the result). */
export function optionalMetadata(
  params: ParamObject,
  key = "metadata",
  prefix: string[] = [],
): Record<string, string | null> | null | undefined {
  const value = params[key];
  if (value === undefined) return undefined;
  if (value === "") return null;
  if (typeof value === "string" || Array.isArray(value)) {
    throw parameterInvalid(paramName([...prefix, key]), `Invalid hash`);
  }
  const result: Record<string, string | null> = {};
  for (const [name, entry] of Object.entries(value)) {
    if (typeof entry !== "string") {
      throw parameterInvalid(paramName([...prefix, key, name]), `Invalid string`);
    }
    result[name] = entry === "" ? null : entry;
  }
  return result;
}

/** Applies a metadata update the way Stripe does: keys merge, empty values delete. */
export function mergeMetadata(
  current: Record<string, string>,
  update: Record<string, string | null> | null | undefined,
): Record<string, string> {
  if (update === undefined) return current;
  if (update === null) return {};
  const next = { ...current };
  for (const [key, value] of Object.entries(update)) {
    if (value === null) delete next[key];
    else next[key] = value;
  }
  return next;
}

/** Reads `expand[]` as a list of dotted paths. */
export function expandPaths(params: ParamObject): string[] {
  const value = params.expand;
  if (value === undefined) return [];
  if (!Array.isArray(value) || !value.every((entry) => typeof entry === "string")) {
    throw parameterInvalid("expand", "Invalid array");
  }
  return value as string[];
}

/** Checks that a URL is absolute http(s), as Stripe does for redirect URLs. */
export function requireUrl(value: string, param: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw parameterInvalid(param, "Not a valid URL", "url_invalid");
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw parameterInvalid(param, "Not a valid URL", "url_invalid");
  }
  return value;
}
