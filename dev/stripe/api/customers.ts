/** `/v1/customers`: create, retrieve, update, delete, list. */
import type { Stripe } from "../../../supabase/functions/_shared/stripe.ts";
import { createCustomer, deleteCustomer, updateCustomer } from "../customers.ts";
import { parameterInvalid } from "../errors.ts";
import type { ParamObject } from "../form.ts";
import {
  mergeMetadata,
  optionalEmail,
  optionalMetadata,
  optionalObject,
  optionalString,
  rejectUnknown,
} from "../params.ts";
import { paginate, PAGINATION, timeFilter } from "./lists.ts";
import { idAt, type Routes } from "./routes.ts";

const CUSTOMER_CREATE = [
  "address",
  "balance",
  "business_name",
  "cash_balance",
  "description",
  "email",
  "expand",
  "individual_name",
  "invoice_prefix",
  "invoice_settings",
  "metadata",
  "name",
  "next_invoice_sequence",
  "payment_method",
  "phone",
  "preferred_locales",
  "shipping",
  "source",
  "tax",
  "tax_exempt",
  "tax_id_data",
  "test_clock",
  "validate",
];
const CUSTOMER_UPDATE = [
  ...CUSTOMER_CREATE.filter((key) =>
    !["payment_method", "tax_id_data", "test_clock"].includes(key)
  ),
  "default_source",
];
const ADDRESS = ["city", "country", "line1", "line2", "postal_code", "state"];

/** Reads `address`: its fields as strings, `""` to unset it. */
function optionalAddress(params: ParamObject): Stripe.Address | null | undefined {
  if (params.address === "") return null;
  const address = optionalObject(params, "address");
  if (address === undefined) return undefined;
  rejectUnknown(address, ADDRESS, ["address"]);
  const read = (key: string) => optionalString(address, key, ["address"]) || null;
  return {
    city: read("city"),
    country: read("country"),
    line1: read("line1"),
    line2: read("line2"),
    postal_code: read("postal_code"),
    state: read("state"),
  };
}

/** Customers' routes. */
export const CUSTOMER_ROUTES: Routes = {
  "POST customers": (state, params) => {
    rejectUnknown(params, CUSTOMER_CREATE);
    const address = optionalAddress(params);
    const customer = createCustomer(state, {
      email: optionalEmail(params, "email") || null,
      name: optionalString(params, "name") || null,
      description: optionalString(params, "description") || null,
      phone: optionalString(params, "phone") || null,
      metadata: mergeMetadata({}, optionalMetadata(params)),
    });
    if (address) customer.address = address;
    return customer;
  },
  "GET customers/:id": (state, params, ids) => {
    rejectUnknown(params, ["expand"]);
    return state.customer(idAt(ids));
  },
  "POST customers/:id": (state, params, ids) => {
    rejectUnknown(params, CUSTOMER_UPDATE);
    const email = optionalEmail(params, "email");
    const name = optionalString(params, "name");
    const description = optionalString(params, "description");
    const phone = optionalString(params, "phone");
    const metadata = optionalMetadata(params);
    const address = optionalAddress(params);
    const current = state.customer(idAt(ids));
    const merged = current.deleted ? {} : mergeMetadata(current.metadata, metadata);
    return updateCustomer(state, idAt(ids), (customer) => {
      if (email !== undefined) customer.email = email || null;
      if (name !== undefined) customer.name = name || null;
      if (description !== undefined) customer.description = description || null;
      if (phone !== undefined) customer.phone = phone || null;
      if (address !== undefined) customer.address = address;
      customer.metadata = merged;
    });
  },
  "DELETE customers/:id": (state, params, ids) => {
    rejectUnknown(params, []);
    return deleteCustomer(state, idAt(ids));
  },
  "GET customers": (state, params) => {
    rejectUnknown(params, [...PAGINATION, "email", "created", "test_clock"]);
    const email = optionalString(params, "email");
    if (email !== undefined && email.length > 512) {
      throw parameterInvalid("email", "Invalid string: must be at most 512 characters");
    }
    const created = timeFilter(params);
    return paginate(
      state.customers.values(),
      (customer) =>
        !customer.deleted && (email === undefined || customer.email === email) &&
        created(customer.created),
      params,
      "/v1/customers",
    );
  },
};
