/** The `/v1/...` endpoints: validate parameters as Stripe does, then act on the state. */
import type { Stripe } from "../../supabase/functions/_shared/stripe.ts";
import type { Param, ParamObject } from "./form.ts";
import { listObject, snapshot } from "./objects.ts";
import { parameterInvalid, parameterMissing, StripeApiError } from "./errors.ts";
import {
  expandPaths,
  mergeMetadata,
  optionalArray,
  optionalBoolean,
  optionalEmail,
  optionalInteger,
  optionalMetadata,
  optionalObject,
  optionalString,
  rejectUnknown,
  requiredString,
  requireUrl,
} from "./params.ts";
import type { CheckoutInput, StripeState, SubscriptionChanges } from "./state.ts";

/** An API answer before it is serialized. */
export interface ApiResult {
  status: number;
  body: unknown;
}

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
const PAGINATION = ["limit", "starting_after", "ending_before", "expand"];
const CHECKOUT_CREATE = [
  "adaptive_pricing",
  "after_expiration",
  "allow_promotion_codes",
  "allowed_payment_method_types",
  "automatic_tax",
  "billing_address_collection",
  "branding_settings",
  "cancel_url",
  "client_reference_id",
  "consent_collection",
  "currency",
  "custom_fields",
  "custom_text",
  "customer",
  "customer_account",
  "customer_creation",
  "customer_email",
  "customer_update",
  "discounts",
  "excluded_payment_method_types",
  "expand",
  "expires_at",
  "integration_identifier",
  "invoice_creation",
  "line_items",
  "locale",
  "managed_payments",
  "metadata",
  "mode",
  "name_collection",
  "optional_items",
  "origin_context",
  "payment_intent_data",
  "payment_method_collection",
  "payment_method_configuration",
  "payment_method_data",
  "payment_method_options",
  "permissions",
  "phone_number_collection",
  "redirect_on_completion",
  "return_url",
  "saved_payment_method_options",
  "setup_intent_data",
  "shipping_address_collection",
  "shipping_options",
  "submit_type",
  "subscription_data",
  "success_url",
  "tax_id_collection",
  "ui_mode",
  "wallet_options",
];
const LINE_ITEM = [
  "adjustable_quantity",
  "metadata",
  "price",
  "price_data",
  "quantity",
  "tax_rates",
];
const SUBSCRIPTION_DATA = [
  "application_fee_percent",
  "billing_cycle_anchor",
  "billing_cycle_anchor_config",
  "billing_mode",
  "default_tax_rates",
  "description",
  "invoice_settings",
  "metadata",
  "on_behalf_of",
  "pending_invoice_item_interval",
  "proration_behavior",
  "transfer_data",
  "trial_end",
  "trial_period_days",
  "trial_settings",
];
const PORTAL_CREATE = [
  "configuration",
  "customer",
  "customer_account",
  "expand",
  "flow_data",
  "locale",
  "on_behalf_of",
  "return_url",
];
const SUBSCRIPTION_UPDATE = [
  "add_invoice_items",
  "application_fee_percent",
  "automatic_tax",
  "billing_cycle_anchor",
  "billing_schedules",
  "billing_thresholds",
  "cancel_at",
  "cancel_at_period_end",
  "cancellation_details",
  "collection_method",
  "days_until_due",
  "default_payment_method",
  "default_source",
  "default_tax_rates",
  "description",
  "discounts",
  "expand",
  "invoice_settings",
  "items",
  "metadata",
  "off_session",
  "on_behalf_of",
  "pause_collection",
  "payment_behavior",
  "payment_settings",
  "pending_invoice_item_interval",
  "proration_behavior",
  "proration_date",
  "transfer_data",
  "trial_end",
  "trial_from_plan",
  "trial_settings",
];
const SUBSCRIPTION_LIST = [
  ...PAGINATION,
  "automatic_tax",
  "collection_method",
  "created",
  "current_period_end",
  "current_period_start",
  "customer",
  "customer_account",
  "plan",
  "price",
  "status",
  "test_clock",
];
const PRICE_CREATE = [
  "currency",
  "active",
  "billing_scheme",
  "currency_options",
  "custom_unit_amount",
  "expand",
  "lookup_key",
  "metadata",
  "nickname",
  "product",
  "product_data",
  "recurring",
  "tax_behavior",
  "tiers",
  "tiers_mode",
  "transfer_lookup_key",
  "transform_quantity",
  "unit_amount",
  "unit_amount_decimal",
];
const MODES = ["payment", "setup", "subscription"];
const SUBSCRIPTION_STATUSES = [
  "active",
  "all",
  "canceled",
  "ended",
  "incomplete",
  "incomplete_expired",
  "past_due",
  "paused",
  "trialing",
  "unpaid",
];
const INTERVALS = ["day", "week", "month", "year"];

/** Answers one `/v1` call; throws {@link StripeApiError} for Stripe's error answers. */
export function routeApi(
  state: StripeState,
  method: string,
  path: string,
  params: ParamObject,
): ApiResult {
  const segments = path.split("/").filter((segment) => segment !== "").map(decodeURIComponent);
  if (segments[0] !== "v1") throw unknownRoute(method, path);
  // Namespaced resources take two segments: `checkout/sessions`, `billing_portal/sessions`.
  const namespaced = segments[1] === "checkout" || segments[1] === "billing_portal";
  const resource = namespaced ? `${segments[1]}/${segments[2] ?? ""}` : segments[1];
  const [id, ...rest] = segments.slice(namespaced ? 3 : 2);
  const expand = expandPaths(params);
  const ok = (object: unknown): ApiResult => ({
    status: 200,
    body: expandObject(state, snapshot(object), expand),
  });
  const key = `${method} ${resource}${id === undefined ? "" : "/:id"}${
    rest.length ? `/${rest.join("/")}` : ""
  }`;
  switch (key) {
    case "POST customers":
      return ok(createCustomer(state, params));
    case "GET customers/:id":
      rejectUnknown(params, ["expand"]);
      return ok(state.customer(idOf(id)));
    case "POST customers/:id":
      return ok(updateCustomer(state, idOf(id), params));
    case "DELETE customers/:id":
      rejectUnknown(params, []);
      return ok(state.deleteCustomer(idOf(id)));
    case "GET customers": {
      rejectUnknown(params, [...PAGINATION, "email", "created", "test_clock"]);
      const email = optionalString(params, "email");
      const customers = [...state.customers.values()].filter((customer) =>
        !customer.deleted && (email === undefined || customer.email === email)
      );
      return ok(paginate(customers, params, "/v1/customers"));
    }
    case "POST checkout/sessions":
      return ok(createCheckoutSession(state, params));
    case "GET checkout/sessions/:id":
      rejectUnknown(params, ["expand"]);
      return ok(state.checkout(idOf(id)).session);
    case "POST checkout/sessions/:id/expire":
      rejectUnknown(params, ["expand"]);
      return ok(state.expireCheckout(idOf(id)));
    case "POST billing_portal/sessions":
      return ok(createPortalSession(state, params));
    case "GET subscriptions/:id":
      rejectUnknown(params, ["expand"]);
      return ok(state.subscription(idOf(id)));
    case "POST subscriptions/:id":
      return ok(
        state.updateSubscription(
          idOf(id),
          subscriptionChanges(state, state.subscription(idOf(id)), params),
        ),
      );
    case "DELETE subscriptions/:id":
      rejectUnknown(params, ["cancellation_details", "expand", "invoice_now", "prorate"]);
      return ok(state.cancelNow(idOf(id)));
    case "GET subscriptions":
      return ok(listSubscriptions(state, params));
    case "GET invoices/:id":
      rejectUnknown(params, ["expand"]);
      return ok(state.invoice(idOf(id)));
    case "GET invoices": {
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
      const invoices = [...state.invoices.values()].filter((invoice) =>
        (customer === undefined || invoice.customer === customer) &&
        (subscription === undefined ||
          invoice.parent?.subscription_details?.subscription === subscription) &&
        (status === undefined || invoice.status === status)
      );
      return ok(paginate(invoices, params, "/v1/invoices"));
    }
    case "GET prices/:id":
      rejectUnknown(params, ["expand"]);
      return ok(state.price(idOf(id)));
    case "POST prices":
      return ok(createPrice(state, params));
    case "GET prices": {
      rejectUnknown(params, [
        ...PAGINATION,
        "active",
        "currency",
        "product",
        "type",
        "lookup_keys",
      ]);
      const product = optionalString(params, "product");
      const prices = [...state.prices.values()].filter((price) =>
        product === undefined || price.product === product
      );
      return ok(paginate(prices, params, "/v1/prices"));
    }
    case "GET events/:id":
      rejectUnknown(params, ["expand"]);
      return ok(state.event(idOf(id)));
    case "GET events": {
      rejectUnknown(params, [...PAGINATION, "created", "delivery_success", "type", "types"]);
      const type = optionalString(params, "type");
      const types = optionalArray(params, "types");
      const events = state.events.filter((event) =>
        (type === undefined || matchesType(event.type, type)) &&
        (types === undefined || types.includes(event.type))
      );
      return ok(paginate(events, params, "/v1/events"));
    }
    default:
      throw unknownRoute(method, path);
  }
}

function idOf(id: string | undefined): string {
  if (id === undefined || id === "") throw parameterMissing("id");
  return id;
}

function unknownRoute(method: string, path: string): StripeApiError {
  return new StripeApiError(404, {
    type: "invalid_request_error",
    message:
      `Unrecognized request URL (${method}: ${path}). This local emulator serves only the endpoints the project uses.`,
  });
}

/** `type` filters accept a trailing `*`: `customer.subscription.*`. */
function matchesType(type: string, pattern: string): boolean {
  return pattern.endsWith("*") ? type.startsWith(pattern.slice(0, -1)) : type === pattern;
}

/** Newest first, `limit` (1..100, default 10), `starting_after` / `ending_before` cursors. */
function paginate<T extends { id: string }>(
  items: T[],
  params: ParamObject,
  url: string,
): Stripe.ApiList<T> {
  const limit = optionalInteger(params, "limit") ?? 10;
  if (limit < 1 || limit > 100) {
    throw parameterInvalid("limit", "Invalid integer: limit must be between 1 and 100");
  }
  const newestFirst = [...items].reverse();
  const after = optionalString(params, "starting_after");
  const before = optionalString(params, "ending_before");
  if (after !== undefined) {
    const index = newestFirst.findIndex((item) => item.id === after);
    if (index < 0) {
      throw parameterInvalid("starting_after", `No such object: '${after}'`, "resource_missing");
    }
    const page = newestFirst.slice(index + 1);
    return listObject(page.slice(0, limit), url, page.length > limit);
  }
  if (before !== undefined) {
    const index = newestFirst.findIndex((item) => item.id === before);
    if (index < 0) {
      throw parameterInvalid("ending_before", `No such object: '${before}'`, "resource_missing");
    }
    const page = newestFirst.slice(0, index);
    return listObject(page.slice(Math.max(0, page.length - limit)), url, page.length > limit);
  }
  return listObject(newestFirst.slice(0, limit), url, newestFirst.length > limit);
}

/** Replaces ids with their objects along `expand[]` paths (`latest_invoice`, `data.customer`). */
function expandObject(state: StripeState, value: unknown, paths: string[]): unknown {
  for (const path of paths) {
    value = expandPath(state, value, path.split("."), path);
  }
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
  let child = object[head];
  if (typeof child === "string") {
    const found = state.lookup(child);
    if (found) child = snapshot(found);
  }
  object[head] = rest.length === 0 ? child : expandPath(state, child, rest, path);
  return object;
}

// ---- customers ---------------------------------------------------------------------------------

function createCustomer(state: StripeState, params: ParamObject): Stripe.Customer {
  rejectUnknown(params, CUSTOMER_CREATE);
  return state.createCustomer({
    email: optionalEmail(params, "email") || null,
    name: optionalString(params, "name") || null,
    description: optionalString(params, "description") || null,
    phone: optionalString(params, "phone") || null,
    metadata: mergeMetadata({}, optionalMetadata(params)),
  });
}

function updateCustomer(state: StripeState, id: string, params: ParamObject): Stripe.Customer {
  rejectUnknown(params, CUSTOMER_UPDATE);
  const email = optionalEmail(params, "email");
  const name = optionalString(params, "name");
  const description = optionalString(params, "description");
  const phone = optionalString(params, "phone");
  const metadata = optionalMetadata(params);
  return state.updateCustomer(id, (customer) => {
    if (email !== undefined) customer.email = email || null;
    if (name !== undefined) customer.name = name || null;
    if (description !== undefined) customer.description = description || null;
    if (phone !== undefined) customer.phone = phone || null;
    customer.metadata = mergeMetadata(customer.metadata, metadata);
  });
}

// ---- checkout and portal -----------------------------------------------------------------------

function createCheckoutSession(state: StripeState, params: ParamObject): Stripe.Checkout.Session {
  rejectUnknown(params, CHECKOUT_CREATE);
  const mode = requiredString(params, "mode");
  if (!MODES.includes(mode)) {
    throw parameterInvalid(
      "mode",
      `Invalid mode: must be one of payment, setup, or subscription`,
    );
  }
  const uiMode = optionalString(params, "ui_mode");
  const hosted = uiMode === undefined || uiMode === "hosted_page" || uiMode === "hosted";
  const successUrl = optionalString(params, "success_url");
  const cancelUrl = optionalString(params, "cancel_url");
  if (hosted && successUrl === undefined) throw parameterMissing("success_url");
  if (successUrl !== undefined) requireUrl(requiredString(params, "success_url"), "success_url");
  if (cancelUrl !== undefined) requireUrl(requiredString(params, "cancel_url"), "cancel_url");

  const customerId = optionalString(params, "customer");
  const customerEmail = optionalEmail(params, "customer_email");
  if (customerId !== undefined && customerEmail !== undefined) {
    throw parameterInvalid(
      "customer_email",
      "You may only specify one of these parameters: customer, customer_email.",
      "parameters_exclusive",
    );
  }
  if (customerId !== undefined) {
    state.liveCustomer(requiredString(params, "customer"), "customer");
  }

  const methodTypes = optionalArray(params, "allowed_payment_method_types");
  if (methodTypes !== undefined) {
    methodTypes.forEach((type, index) => {
      if (typeof type !== "string" || type === "") {
        throw parameterInvalid(
          `allowed_payment_method_types[${index}]`,
          "Invalid payment method type",
          "parameter_invalid_empty",
        );
      }
    });
  }

  const lineItems = readLineItems(state, params, mode);
  const subscriptionData = optionalObject(params, "subscription_data");
  if (subscriptionData !== undefined && mode !== "subscription") {
    throw parameterInvalid(
      "subscription_data",
      "You can only pass in subscription_data in `subscription` mode.",
    );
  }
  if (subscriptionData) rejectUnknown(subscriptionData, SUBSCRIPTION_DATA, ["subscription_data"]);
  const trialPeriodDays = subscriptionData
    ? optionalInteger(subscriptionData, "trial_period_days", ["subscription_data"]) ?? null
    : null;
  if (trialPeriodDays !== null && (trialPeriodDays < 1 || trialPeriodDays > 730)) {
    throw parameterInvalid(
      "subscription_data[trial_period_days]",
      "The trial period must be between 1 and 730 days.",
    );
  }

  const input: CheckoutInput = {
    mode: mode as Stripe.Checkout.Session.Mode,
    customer: customerId ?? null,
    customerEmail: customerEmail || null,
    clientReferenceId: optionalString(params, "client_reference_id") || null,
    metadata: mergeMetadata({}, optionalMetadata(params)),
    allowedPaymentMethodTypes: methodTypes === undefined ? null : methodTypes.map(String),
    lineItems,
    subscriptionMetadata: mergeMetadata(
      {},
      subscriptionData ? optionalMetadata(subscriptionData, "metadata", ["subscription_data"]) : {},
      "subscription_data[metadata]",
    ),
    trialPeriodDays,
    successUrl: successUrl ?? null,
    cancelUrl: cancelUrl ?? null,
  };
  return state.createCheckoutSession(input);
}

function readLineItems(
  state: StripeState,
  params: ParamObject,
  mode: string,
): { price: string; quantity: number }[] {
  const raw = optionalArray(params, "line_items");
  if (mode === "setup") {
    if (raw !== undefined && raw.length > 0) {
      throw parameterInvalid("line_items", "You cannot pass `line_items` in `setup` mode.");
    }
    return [];
  }
  if (raw === undefined || raw.length === 0) throw parameterMissing("line_items");
  return raw.map((entry: Param, index) => {
    const prefix = ["line_items", String(index)];
    if (typeof entry === "string" || Array.isArray(entry)) {
      throw parameterInvalid(`line_items[${index}]`, "Invalid hash");
    }
    rejectUnknown(entry, LINE_ITEM, prefix);
    if (entry.price_data !== undefined) {
      throw parameterInvalid(
        `line_items[${index}][price_data]`,
        "This local emulator supports line items by `price` only.",
      );
    }
    const priceId = requiredString(entry, "price", prefix);
    const price = state.price(priceId, `line_items[${index}][price]`);
    if (!price.active) {
      throw parameterInvalid(
        `line_items[${index}][price]`,
        `The price \`${priceId}\` is not active.`,
      );
    }
    if (mode === "subscription" && !price.recurring) {
      throw parameterInvalid(
        `line_items[${index}][price]`,
        "You must provide at least one recurring price in `subscription` mode when using prices.",
      );
    }
    if (mode === "payment" && price.recurring) {
      throw parameterInvalid(
        `line_items[${index}][price]`,
        "You specified `payment` mode but passed a recurring price. Either switch to `subscription` mode or use only one-time prices.",
      );
    }
    const quantity = optionalInteger(entry, "quantity", prefix);
    if (quantity === undefined || quantity === null) {
      throw parameterMissing(`line_items[${index}][quantity]`);
    }
    if (quantity < 1) {
      throw parameterInvalid(
        `line_items[${index}][quantity]`,
        "This value must be greater than or equal to 1.",
      );
    }
    return { price: priceId, quantity };
  });
}

function createPortalSession(
  state: StripeState,
  params: ParamObject,
): Stripe.BillingPortal.Session {
  rejectUnknown(params, PORTAL_CREATE);
  const customer = requiredString(params, "customer");
  state.liveCustomer(customer, "customer");
  const returnUrl = optionalString(params, "return_url");
  if (returnUrl !== undefined) requireUrl(requiredString(params, "return_url"), "return_url");
  return state.createPortalSession(customer, returnUrl ?? null);
}

// ---- subscriptions -----------------------------------------------------------------------------

function subscriptionChanges(
  state: StripeState,
  subscription: Stripe.Subscription,
  params: ParamObject,
): SubscriptionChanges {
  rejectUnknown(params, SUBSCRIPTION_UPDATE);
  const changes: SubscriptionChanges = {};
  const cancelAtPeriodEnd = optionalBoolean(params, "cancel_at_period_end");
  if (cancelAtPeriodEnd !== undefined) changes.cancelAtPeriodEnd = cancelAtPeriodEnd;
  const cancelAt = optionalString(params, "cancel_at");
  if (cancelAt !== undefined) {
    if (cancelAt === "") changes.cancelAt = null;
    else if (/^\d+$/.test(cancelAt)) changes.cancelAt = Number(cancelAt);
    else if (cancelAt === "min_period_end" || cancelAt === "max_period_end") {
      changes.cancelAt = state.periodEnd(subscription);
    } else throw parameterInvalid("cancel_at", `Invalid timestamp: ${cancelAt}`);
  }
  if (params.pause_collection !== undefined) {
    if (params.pause_collection === "") changes.pauseCollection = null;
    else {
      const pause = optionalObject(params, "pause_collection");
      if (pause) {
        const behavior = requiredString(pause, "behavior", ["pause_collection"]);
        if (!["keep_as_draft", "mark_uncollectible", "void"].includes(behavior)) {
          throw parameterInvalid(
            "pause_collection[behavior]",
            "Invalid pause_collection[behavior]: must be one of keep_as_draft, mark_uncollectible, or void",
          );
        }
        changes.pauseCollection = {
          behavior,
          resumesAt: optionalInteger(pause, "resumes_at", ["pause_collection"]) ?? null,
        };
      }
    }
  }
  const metadata = optionalMetadata(params);
  if (metadata !== undefined) changes.metadata = metadata;
  const items = optionalArray(params, "items");
  if (items !== undefined) {
    items.forEach((entry, index) => {
      if (typeof entry === "string" || Array.isArray(entry)) {
        throw parameterInvalid(`items[${index}]`, "Invalid hash");
      }
      const price = optionalString(entry, "price", ["items", String(index)]);
      if (price !== undefined) {
        state.price(price, `items[${index}][price]`);
        changes.price = price;
      }
      const quantity = optionalInteger(entry, "quantity", ["items", String(index)]);
      if (quantity !== undefined && quantity !== null) {
        if (quantity < 1) {
          throw parameterInvalid(
            `items[${index}][quantity]`,
            "This value must be greater than or equal to 1.",
          );
        }
        changes.quantity = quantity;
      }
    });
  }
  const trialEnd = optionalString(params, "trial_end");
  if (trialEnd === "now") changes.trialEndNow = true;
  return changes;
}

function listSubscriptions(
  state: StripeState,
  params: ParamObject,
): Stripe.ApiList<Stripe.Subscription> {
  rejectUnknown(params, SUBSCRIPTION_LIST);
  const customer = optionalString(params, "customer");
  const price = optionalString(params, "price");
  const status = optionalString(params, "status");
  if (status !== undefined && !SUBSCRIPTION_STATUSES.includes(status)) {
    throw parameterInvalid("status", `Invalid status: ${status}`);
  }
  const subscriptions = [...state.subscriptions.values()].filter((subscription) => {
    if (customer !== undefined && subscription.customer !== customer) return false;
    if (price !== undefined && !subscription.items.data.some((item) => item.price.id === price)) {
      return false;
    }
    if (status === undefined) return subscription.status !== "canceled";
    if (status === "all") return true;
    if (status === "ended") {
      return subscription.status === "canceled" || subscription.status === "incomplete_expired";
    }
    return subscription.status === status;
  });
  return paginate(subscriptions, params, "/v1/subscriptions");
}

// ---- prices ------------------------------------------------------------------------------------

function createPrice(state: StripeState, params: ParamObject): Stripe.Price {
  rejectUnknown(params, PRICE_CREATE);
  const currency = requiredString(params, "currency").toLowerCase();
  const unitAmount = optionalInteger(params, "unit_amount");
  if (unitAmount === undefined || unitAmount === null) throw parameterMissing("unit_amount");
  if (unitAmount < 0) {
    throw parameterInvalid("unit_amount", "This value must be greater than or equal to 0.");
  }
  const product = optionalString(params, "product");
  const productData = optionalObject(params, "product_data");
  if (product === undefined && productData === undefined) throw parameterMissing("product");
  const recurringParams = optionalObject(params, "recurring");
  let recurring: { interval: Stripe.Price.Recurring.Interval; intervalCount: number } | null = null;
  if (recurringParams) {
    const interval = requiredString(recurringParams, "interval", ["recurring"]);
    if (!INTERVALS.includes(interval)) {
      throw parameterInvalid(
        "recurring[interval]",
        "Invalid recurring[interval]: must be one of day, month, week, or year",
      );
    }
    const count = optionalInteger(recurringParams, "interval_count", ["recurring"]) ?? 1;
    recurring = { interval: interval as Stripe.Price.Recurring.Interval, intervalCount: count };
  }
  return state.createPrice({
    unitAmount,
    currency,
    recurring,
    product,
    productName: productData ? requiredString(productData, "name", ["product_data"]) : undefined,
    nickname: optionalString(params, "nickname") || null,
    lookupKey: optionalString(params, "lookup_key") || null,
    metadata: mergeMetadata({}, optionalMetadata(params)),
  });
}
