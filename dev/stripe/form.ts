/** Stripe's form encoding: `a[b][0][c]=v` pairs into nested objects and arrays. */

/** A decoded parameter value: a string, a list, or a nested object. */
export type Param = string | Param[] | ParamObject;

/** Decoded parameters keyed by name. */
export interface ParamObject {
  [key: string]: Param;
}

/** Splits `a[b][0]` into `["a", "b", "0"]`; `a[]` gives an empty last segment. */
function splitKey(key: string): string[] {
  const open = key.indexOf("[");
  if (open <= 0) return [key];
  const segments = [key.slice(0, open)];
  const pattern = /\[([^\]]*)\]/g;
  for (const match of key.slice(open).matchAll(pattern)) {
    segments.push(match[1] ?? "");
  }
  return segments;
}

const INDEX = /^\d+$/;

/**
 * Sets an own property, whatever its name: a key such as `__proto__` or `constructor` from a
 * request must stay data and never reach a prototype.
 */
export function setOwn<T>(object: Record<string, T>, key: string, value: T): void {
  Object.defineProperty(object, key, {
    value,
    writable: true,
    enumerable: true,
    configurable: true,
  });
}

/** An own property's value; inherited ones (`constructor`, `__proto__`) are not parameters. */
function own(object: ParamObject, key: string): Param | undefined {
  return Object.hasOwn(object, key) ? object[key] : undefined;
}

/** Turns objects whose keys are all indexes into arrays, recursively. */
function arrayify(value: Param): Param {
  if (typeof value === "string" || Array.isArray(value)) return value;
  const keys = Object.keys(value);
  for (const key of keys) setOwn(value, key, arrayify(value[key] as Param));
  if (keys.length > 0 && keys.every((key) => INDEX.test(key))) {
    return keys.sort((a, b) => Number(a) - Number(b)).map((key) => value[key] as Param);
  }
  return value;
}

/** Decodes form or query pairs with Stripe's bracket syntax into nested parameters. */
export function parseParams(pairs: Iterable<[string, string]>): ParamObject {
  const root: ParamObject = {};
  for (const [key, value] of pairs) {
    const segments = splitKey(key);
    let node: ParamObject = root;
    for (let i = 0; i < segments.length; i++) {
      let segment = segments[i] ?? "";
      // `a[]` appends: give the element the next free index.
      if (segment === "") segment = String(Object.keys(node).length);
      if (i === segments.length - 1) {
        setOwn(node, segment, value);
        break;
      }
      const next = own(node, segment);
      if (next === undefined || typeof next === "string" || Array.isArray(next)) {
        const child: ParamObject = {};
        setOwn(node, segment, child);
        node = child;
      } else {
        node = next;
      }
    }
  }
  for (const key of Object.keys(root)) setOwn(root, key, arrayify(root[key] as Param));
  return root;
}

/** Decodes an `application/x-www-form-urlencoded` body or a query string. */
export function parseForm(text: string): ParamObject {
  return parseParams(new URLSearchParams(text));
}

/** A path segment, percent-decoded; null when its escapes are malformed (`%E0`). */
export function decodeSegment(segment: string): string | null {
  try {
    return decodeURIComponent(segment);
  } catch {
    return null;
  }
}
