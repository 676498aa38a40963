/** What a route table is: actions by route key (`POST customers/:id`). */
import type { ParamObject } from "../form.ts";
import type { StripeState } from "../state.ts";

/** Answers one call with the object to send; throws Stripe's errors. `ids` are the path's ids. */
export type RouteAction = (state: StripeState, params: ParamObject, ids: string[]) => unknown;

/** Route actions by route key. */
export type Routes = Record<string, RouteAction>;

/** The path's id at `index`, which the route key guarantees. */
export function idAt(ids: string[], index = 0): string {
  return ids[index] ?? "";
}
