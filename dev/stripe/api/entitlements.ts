/** `/v1/entitlements/...`: features, and a customer's active entitlements. */
import { createFeature, updateFeature } from "../catalog.ts";
import { activeEntitlements, findActiveEntitlement } from "../entitlements.ts";
import { parameterInvalid, resourceMissing } from "../errors.ts";
import {
  mergeMetadata,
  optionalBoolean,
  optionalMetadata,
  optionalString,
  rejectUnknown,
  requiredString,
} from "../params.ts";
import { paginate, PAGINATION } from "./lists.ts";
import { idAt, type Routes } from "./routes.ts";

/** Stripe's longest feature lookup key. */
const LOOKUP_KEY_MAX_LENGTH = 80;

/** Entitlements' routes: features and active entitlements. */
export const ENTITLEMENT_ROUTES: Routes = {
  "POST entitlements/features": (state, params) => {
    rejectUnknown(params, ["expand", "lookup_key", "metadata", "name"]);
    const name = requiredString(params, "name");
    const lookupKey = requiredString(params, "lookup_key");
    if (lookupKey.length > LOOKUP_KEY_MAX_LENGTH) {
      throw parameterInvalid(
        "lookup_key",
        `Invalid string: ${
          lookupKey.slice(0, 20)
        }...; must be at most ${LOOKUP_KEY_MAX_LENGTH} characters`,
      );
    }
    return createFeature(state, {
      name,
      lookupKey,
      metadata: mergeMetadata({}, optionalMetadata(params)),
    });
  },
  "GET entitlements/features/:id": (state, params, ids) => {
    rejectUnknown(params, ["expand"]);
    return state.feature(idAt(ids));
  },
  "POST entitlements/features/:id": (state, params, ids) => {
    rejectUnknown(params, ["active", "expand", "metadata", "name"]);
    const active = optionalBoolean(params, "active");
    const name = params.name === undefined ? undefined : requiredString(params, "name");
    const merged = mergeMetadata(state.feature(idAt(ids)).metadata, optionalMetadata(params));
    return updateFeature(state, idAt(ids), (feature) => {
      if (active !== undefined) feature.active = active;
      if (name !== undefined) feature.name = name;
      feature.metadata = merged;
    });
  },
  "GET entitlements/features": (state, params) => {
    rejectUnknown(params, [...PAGINATION, "archived", "lookup_key"]);
    const archived = optionalBoolean(params, "archived") ?? false;
    const lookupKey = optionalString(params, "lookup_key");
    return paginate(
      state.features.values(),
      (feature) =>
        feature.active !== archived &&
        (lookupKey === undefined || feature.lookup_key === lookupKey),
      params,
      "/v1/entitlements/features",
    );
  },
  "GET entitlements/active_entitlements": (state, params) => {
    rejectUnknown(params, [...PAGINATION, "customer"]);
    const customer = requiredString(params, "customer");
    state.customer(customer, "customer");
    return paginate(
      activeEntitlements(state, customer),
      () => true,
      params,
      "/v1/entitlements/active_entitlements",
    );
  },
  "GET entitlements/active_entitlements/:id": (state, params, ids) => {
    rejectUnknown(params, ["expand"]);
    const found = findActiveEntitlement(state, idAt(ids));
    if (!found) throw resourceMissing("entitlements.active_entitlement", idAt(ids));
    return found;
  },
};
