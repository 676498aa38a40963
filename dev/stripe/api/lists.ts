/** Stripe's list envelope and its paging: newest first, `limit`, and cursors by position. */
import type { Stripe } from "../../../supabase/functions/_shared/stripe.ts";
import { parameterInvalid } from "../errors.ts";
import type { ParamObject } from "../form.ts";
import { listObject } from "../objects.ts";
import { optionalInteger, optionalObject, optionalString, paramName } from "../params.ts";

/** The parameters every list takes. */
export const PAGINATION = ["limit", "starting_after", "ending_before", "expand"];

/**
 * Newest first: by `created`, descending, and for equal `created` the later made first (the
 * emulator makes objects in order, so its insertion order breaks the tie, stably).
 */
function newestFirst<T extends { created?: number }>(items: Iterable<T>): T[] {
  return [...items].reverse().sort((a, b) => (b.created ?? 0) - (a.created ?? 0));
}

/**
 * One page of `all` (every object of the kind, so that a cursor keeps its place even when it no
 * longer matches the filter), `filter` applied: `limit` 1..100 (default 10), after
 * `starting_after` or before `ending_before`, with `has_more` and the list's `url`.
 */
export function paginate<T extends { id?: string; created?: number }>(
  all: Iterable<T>,
  filter: (item: T) => boolean,
  params: ParamObject,
  url: string,
): Stripe.ApiList<T> {
  const limit = optionalInteger(params, "limit") ?? 10;
  if (limit < 1) throw parameterInvalid("limit", "This value must be greater than or equal to 1.");
  if (limit > 100) {
    throw parameterInvalid("limit", "This value must be less than or equal to 100.");
  }
  const ordered = newestFirst(all);
  const cursor = (key: "starting_after" | "ending_before") => {
    const id = optionalString(params, key);
    if (id === undefined) return undefined;
    const index = ordered.findIndex((item) => item.id === id);
    if (index < 0) throw parameterInvalid(key, `No such object: '${id}'`, "resource_missing");
    return index;
  };
  const after = cursor("starting_after");
  const before = cursor("ending_before");
  if (after !== undefined) {
    const rest = ordered.slice(after + 1).filter(filter);
    return listObject(rest.slice(0, limit), url, rest.length > limit);
  }
  if (before !== undefined) {
    const rest = ordered.slice(0, before).filter(filter);
    return listObject(rest.slice(Math.max(0, rest.length - limit)), url, rest.length > limit);
  }
  const matching = ordered.filter(filter);
  return listObject(matching.slice(0, limit), url, matching.length > limit);
}

/** A `created`-style filter: an exact time, or bounds `gt`, `gte`, `lt`, `lte`. */
export function timeFilter(params: ParamObject, key = "created"): (time: number) => boolean {
  if (params[key] === undefined) return () => true;
  if (typeof params[key] === "string") {
    const exact = optionalInteger(params, key);
    return (time) => exact === null || exact === undefined || time === exact;
  }
  const bounds = optionalObject(params, key) ?? {};
  const read = (bound: string) => {
    if (!["gt", "gte", "lt", "lte"].includes(bound)) {
      throw parameterInvalid(paramName([key, bound]), `Invalid ${key} filter: ${bound}`);
    }
    return optionalInteger(bounds, bound, [key]) ?? undefined;
  };
  for (const bound of Object.keys(bounds)) read(bound);
  const gt = read("gt");
  const gte = read("gte");
  const lt = read("lt");
  const lte = read("lte");
  return (time) =>
    (gt === undefined || time > gt) && (gte === undefined || time >= gte) &&
    (lt === undefined || time < lt) && (lte === undefined || time <= lte);
}
