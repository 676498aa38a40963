/** `/v1/events`: retrieve, and list with Stripe's filters. */
import { parameterInvalid } from "../errors.ts";
import { optionalArray, optionalBoolean, optionalString, rejectUnknown } from "../params.ts";
import { paginate, PAGINATION, timeFilter } from "./lists.ts";
import { idAt, type Routes } from "./routes.ts";

/** `type` filters accept a `*` for any part: `customer.subscription.*`, `*.created`. */
function matchesType(type: string, pattern: string): boolean {
  if (!pattern.includes("*")) return type === pattern;
  const source = pattern.split("*").map((part) => part.replace(/[.+?^${}()|[\]\\]/g, "\\$&"))
    .join("[^]*");
  return new RegExp(`^${source}$`).test(type);
}

/** Events' routes. */
export const EVENT_ROUTES: Routes = {
  "GET events/:id": (state, params, ids) => {
    rejectUnknown(params, ["expand"]);
    return state.event(idAt(ids));
  },
  "GET events": (state, params) => {
    rejectUnknown(params, [...PAGINATION, "created", "delivery_success", "type", "types"]);
    const type = optionalString(params, "type");
    const types = optionalArray(params, "types");
    if (type !== undefined && types !== undefined) {
      throw parameterInvalid(
        "types",
        "You may only specify one of these parameters: type, types.",
        "parameters_exclusive",
      );
    }
    if (types !== undefined) {
      if (types.length > 20) {
        throw parameterInvalid("types", "You may only specify up to 20 event types.");
      }
      types.forEach((entry, index) => {
        if (typeof entry !== "string") throw parameterInvalid(`types[${index}]`, "Invalid string");
      });
    }
    const created = timeFilter(params);
    // All delivered is no endpoint still waiting; not delivered is pending or given up on.
    const deliverySuccess = optionalBoolean(params, "delivery_success");
    return paginate(
      state.events,
      (event) =>
        (type === undefined || matchesType(event.type, type)) &&
        (types === undefined || types.includes(event.type)) &&
        created(event.created) &&
        (deliverySuccess === undefined || (event.pending_webhooks === 0) === deliverySuccess),
      params,
      "/v1/events",
    );
  },
};
