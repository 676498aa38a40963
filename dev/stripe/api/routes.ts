/** What a route table is: handlers by route key (`POST customers/:id`). */
import type { ParamObject } from "../form.ts";
import type { StripeState } from "../state.ts";

/** Answers one call with the object to send; throws Stripe's errors. `ids` are the path's ids. */
export type Handler = (state: StripeState, params: ParamObject, ids: string[]) => unknown;

/** Handlers by route key. */
export type Routes = Record<string, Handler>;

/** The path's id at `index`, which the route key guarantees. */
export function idAt(ids: string[], index = 0): string {
  return ids[index] ?? "";
}
