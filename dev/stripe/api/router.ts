/** The `/v1/...` router: a route key per method and path shape, and `expand[]` on the answer. */
import { parameterInvalid, StripeApiError } from "../errors.ts";
import { decodeSegment, type ParamObject } from "../form.ts";
import { snapshot } from "../objects.ts";
import { expandPaths } from "../params.ts";
import type { StripeState } from "../state.ts";
import { CATALOG_ROUTES } from "./catalog.ts";
import { CHECKOUT_ROUTES } from "./checkout.ts";
import { CUSTOMER_ROUTES } from "./customers.ts";
import { ENTITLEMENT_ROUTES } from "./entitlements.ts";
import { EVENT_ROUTES } from "./events.ts";
import { INVOICE_ROUTES } from "./invoices.ts";
import { PORTAL_ROUTES } from "./portal.ts";
import type { Routes } from "./routes.ts";
import { SUBSCRIPTION_ROUTES } from "./subscriptions.ts";
import { WEBHOOK_ENDPOINT_ROUTES } from "./webhook_endpoints.ts";

/** An API answer before it is serialized. */
export interface ApiResult {
  status: number;
  body: unknown;
}

const ROUTES: Routes = {
  ...CATALOG_ROUTES,
  ...CHECKOUT_ROUTES,
  ...CUSTOMER_ROUTES,
  ...ENTITLEMENT_ROUTES,
  ...EVENT_ROUTES,
  ...INVOICE_ROUTES,
  ...PORTAL_ROUTES,
  ...SUBSCRIPTION_ROUTES,
  ...WEBHOOK_ENDPOINT_ROUTES,
};

/** Resources named by two segments: `checkout/sessions`, `entitlements/features`. */
const NAMESPACES = new Set(["checkout", "billing_portal", "entitlements"]);

/**
 * The route key of a path and its ids: `/v1/products/prod_1/features/prodft_2` is
 * `GET products/:id/features/:id` with ids `["prod_1", "prodft_2"]`.
 */
export function routeKey(method: string, path: string): { key: string; ids: string[] } | null {
  const decoded = path.split("/").filter((segment) => segment !== "").map(decodeSegment);
  if (decoded.includes(null)) return null;
  const segments = decoded.filter((segment): segment is string => segment !== null);
  if (segments[0] !== "v1" || segments[1] === undefined) return null;
  const namespaced = NAMESPACES.has(segments[1]);
  const parts = [namespaced ? `${segments[1]}/${segments[2] ?? ""}` : segments[1]];
  const ids: string[] = [];
  segments.slice(namespaced ? 3 : 2).forEach((segment, index) => {
    if (index % 2 === 0) {
      parts.push(":id");
      ids.push(segment);
    } else parts.push(segment);
  });
  return { key: `${method} ${parts.join("/")}`, ids };
}

function unknownRoute(method: string, path: string): StripeApiError {
  return new StripeApiError(404, {
    type: "invalid_request_error",
    message:
      `Unrecognized request URL (${method}: ${path}). This local emulator serves only the endpoints the project uses.`,
  });
}

/** Answers one `/v1` call; throws {@link StripeApiError} for Stripe's error answers. */
export function routeApi(
  state: StripeState,
  method: string,
  path: string,
  params: ParamObject,
): ApiResult {
  const route = routeKey(method, path);
  const handler = route ? ROUTES[route.key] : undefined;
  if (!route || !handler) throw unknownRoute(method, path);
  const expand = expandPaths(params);
  const result = handler(state, params, route.ids);
  // Serialized right away; only an expansion needs a copy to change.
  return {
    status: 200,
    body: expand.length > 0 ? expandObject(state, snapshot(result), expand) : result,
  };
}

/** Replaces ids with their objects along `expand[]` paths (`latest_invoice`, `data.customer`). */
function expandObject(state: StripeState, value: unknown, paths: string[]): unknown {
  for (const path of paths) value = expandPath(state, value, path.split("."), path);
  return value;
}

function expandPath(state: StripeState, value: unknown, segments: string[], path: string): unknown {
  const [head, ...rest] = segments;
  if (head === undefined || value === null || typeof value !== "object") return value;
  if (Array.isArray(value)) return value.map((item) => expandPath(state, item, segments, path));
  const object = value as Record<string, unknown>;
  if (!(head in object)) {
    throw parameterInvalid("expand", `This property cannot be expanded (${path}).`);
  }
  const resolve = (entry: unknown) => {
    if (typeof entry !== "string") return entry;
    const found = state.lookup(entry);
    return found ? snapshot(found) : entry;
  };
  const child = Array.isArray(object[head])
    ? (object[head] as unknown[]).map(resolve)
    : resolve(object[head]);
  object[head] = rest.length === 0 ? child : expandPath(state, child, rest, path);
  return object;
}
