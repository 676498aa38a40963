/** Typed readers for decoded parameters, with Stripe's checks and its errors. */
import { parameterInvalid, parameterMissing, parameterUnknown } from "./errors.ts";
import { type Param, type ParamObject, setOwn } from "./form.ts";

/** Renders a nested parameter path the way Stripe names it: `line_items[0][price]`. */
export function paramName(path: readonly (string | number)[]): string {
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
export function optionalBoolean(
  params: ParamObject,
  key: string,
  prefix: string[] = [],
): boolean | undefined {
  const value = optionalString(params, key, prefix);
  if (value === undefined) return undefined;
  if (value === "true") return true;
  if (value === "false") return false;
  throw parameterInvalid(paramName([...prefix, key]), `Invalid boolean: ${value}`);
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

/** Stripe's metadata limits. */
const METADATA_MAX_KEYS = 50;
const METADATA_MAX_KEY_LENGTH = 40;
const METADATA_MAX_VALUE_LENGTH = 500;

/** Characters as Stripe counts them (code points, not UTF-16 units). */
function characters(value: string): number {
  return [...value].length;
}

/**
 * Reads `metadata`: a flat map of strings, `""` to unset (null in the result). Keys over 40
 * characters and values over 500 are refused as Stripe refuses them.
 */
export function optionalMetadata(
  params: ParamObject,
  key = "metadata",
  prefix: string[] = [],
): Record<string, string | null> | null | undefined {
  const value = params[key];
  if (value === undefined) return undefined;
  const name = paramName([...prefix, key]);
  if (value === "") return null;
  if (typeof value === "string" || Array.isArray(value)) {
    throw parameterInvalid(name, `Invalid hash`);
  }
  const result: Record<string, string | null> = {};
  for (const [entryKey, entry] of Object.entries(value)) {
    if (typeof entry !== "string") {
      throw parameterInvalid(paramName([...prefix, key, entryKey]), `Invalid string`);
    }
    if (characters(entryKey) > METADATA_MAX_KEY_LENGTH) {
      throw parameterInvalid(
        name,
        `Metadata keys can have up to ${METADATA_MAX_KEY_LENGTH} characters, but you passed in a key that is ${
          characters(entryKey)
        } characters. Invalid key: ${entryKey}`,
      );
    }
    if (characters(entry) > METADATA_MAX_VALUE_LENGTH) {
      throw parameterInvalid(
        name,
        `Metadata values can have up to ${METADATA_MAX_VALUE_LENGTH} characters, but you passed in a value that is ${
          characters(entry)
        } characters. Invalid value: ${entry}`,
      );
    }
    setOwn(result, entryKey, entry === "" ? null : entry);
  }
  return result;
}

/**
 * Applies a metadata update the way Stripe does: keys merge, empty values delete, and the
 * result holds at most 50 keys (`param` names the parameter in the refusal).
 */
export function mergeMetadata(
  current: Record<string, string>,
  update: Record<string, string | null> | null | undefined,
  param = "metadata",
): Record<string, string> {
  if (update === undefined) return current;
  if (update === null) return {};
  const next = { ...current };
  for (const [key, value] of Object.entries(update)) {
    if (value === null) delete next[key];
    else setOwn(next, key, value);
  }
  const count = Object.keys(next).length;
  if (count > METADATA_MAX_KEYS) {
    throw parameterInvalid(
      param,
      `Metadata can have up to ${METADATA_MAX_KEYS} keys, but you've set ${count}. Email us at support+metadata@stripe.com for more information.`,
    );
  }
  return next;
}

/** A local part, `@`, dot-separated domain labels and a top-level domain of letters. */
const EMAIL =
  /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*@(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?\.)+[A-Za-z]{2,}$/;

/** Stripe's longest email. */
const EMAIL_MAX_LENGTH = 512;

/** Reads an optional email, refused as Stripe refuses a malformed one (`email_invalid`). */
export function optionalEmail(params: ParamObject, key: string): string | undefined {
  const value = optionalString(params, key);
  if (value === undefined || value === "") return value;
  if (characters(value) > EMAIL_MAX_LENGTH) {
    throw parameterInvalid(
      key,
      `Invalid string: ${value.slice(0, 20)}...; must be at most ${EMAIL_MAX_LENGTH} characters`,
      "string_too_long",
    );
  }
  if (!EMAIL.test(value)) {
    throw parameterInvalid(key, `Invalid email address: ${value}`, "email_invalid");
  }
  return value;
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
