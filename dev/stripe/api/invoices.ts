/** `/v1/invoices`: retrieve, list. */
import { optionalString, rejectUnknown } from "../params.ts";
import { paginate, PAGINATION, timeFilter } from "./lists.ts";
import { idAt, type Routes } from "./routes.ts";

/** Invoices' routes. */
export const INVOICE_ROUTES: Routes = {
  "GET invoices/:id": (state, params, ids) => {
    rejectUnknown(params, ["expand"]);
    return state.invoice(idAt(ids));
  },
  "GET invoices": (state, params) => {
    rejectUnknown(params, [
      ...PAGINATION,
      "collection_method",
      "created",
      "customer",
      "customer_account",
      "due_date",
      "status",
      "subscription",
    ]);
    const customer = optionalString(params, "customer");
    const subscription = optionalString(params, "subscription");
    const status = optionalString(params, "status");
    const created = timeFilter(params);
    return paginate(
      state.invoices.values(),
      (invoice) =>
        (customer === undefined || invoice.customer === customer) &&
        (subscription === undefined ||
          invoice.parent?.subscription_details?.subscription === subscription) &&
        (status === undefined || invoice.status === status) && created(invoice.created),
      params,
      "/v1/invoices",
    );
  },
};
