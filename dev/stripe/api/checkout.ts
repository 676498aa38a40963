/** `/v1/checkout/sessions`: create (validated as Stripe validates), retrieve, expire. */
import type { Stripe } from "../../../supabase/functions/_shared/stripe.ts";
import {
  type CheckoutInput,
  createCheckoutSession,
  type DiscountInput,
  expireCheckout,
} from "../checkout.ts";
import {
  invalidRequest,
  parameterInvalid,
  parameterMissing,
  resourceMissing,
  StripeApiError,
} from "../errors.ts";
import type { Param, ParamObject } from "../form.ts";
import {
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
} from "../params.ts";
import type { CustomerUpdate, StripeState } from "../state.ts";
import type { MissingPaymentMethod } from "../subscriptions.ts";
import { idAt, type Routes } from "./routes.ts";

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
const MODES = ["payment", "setup", "subscription"];
const MISSING_PAYMENT_METHOD = ["cancel", "create_invoice", "pause"];
const CUSTOMER_UPDATE_FIELDS = ["address", "name", "shipping"];

/** The message Stripe answers a session it could not tax (verbatim). */
const TAX_LOCATION_MESSAGE =
  "Automatic tax calculation in Checkout requires a valid address on the Customer. Add a valid address to the Customer or set `customer_update[address]` to 'auto' to save the billing address entered in Checkout to the Customer.";

/** Stripe's answer to a value outside an enum: `Invalid mode: must be one of a, b, or c`. */
function notOneOf(param: string, values: readonly string[]): StripeApiError {
  const list = values.length > 2
    ? `${values.slice(0, -1).join(", ")}, or ${values.at(-1)}`
    : values.join(" or ");
  return parameterInvalid(param, `Invalid ${param}: must be one of ${list}`);
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
  const items = raw.map((entry: Param, index) => {
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
    return { price: priceId, quantity, recurring: price.recurring !== null };
  });
  if (mode === "subscription") {
    if (!items.some((item) => item.recurring)) {
      throw parameterInvalid(
        "line_items",
        "You must provide at least one recurring price in `subscription` mode when using prices.",
      );
    }
    const oneTime = items.findIndex((item) => !item.recurring);
    if (oneTime >= 0) {
      throw parameterInvalid(
        `line_items[${oneTime}][price]`,
        "This local emulator supports only recurring prices in `subscription` mode.",
      );
    }
  }
  return items.map(({ price, quantity }) => ({ price, quantity }));
}

/** `subscription_data`: its metadata, the trial, and what the trial's end does without a card. */
function readSubscriptionData(params: ParamObject, mode: string) {
  const data = optionalObject(params, "subscription_data");
  if (data !== undefined && mode !== "subscription") {
    throw parameterInvalid(
      "subscription_data",
      "You can only pass in subscription_data in `subscription` mode.",
    );
  }
  if (!data) return { metadata: {}, trialPeriodDays: null, missingPaymentMethod: null };
  const prefix = ["subscription_data"];
  rejectUnknown(data, SUBSCRIPTION_DATA, prefix);
  if (data.trial_end !== undefined) {
    throw parameterInvalid(
      "subscription_data[trial_end]",
      "This local emulator supports trials by `trial_period_days` only.",
    );
  }
  const trialPeriodDays = optionalInteger(data, "trial_period_days", prefix) ?? null;
  if (trialPeriodDays !== null && (trialPeriodDays < 1 || trialPeriodDays > 730)) {
    throw parameterInvalid(
      "subscription_data[trial_period_days]",
      "The trial period must be between 1 and 730 days.",
    );
  }
  let missingPaymentMethod: MissingPaymentMethod | null = null;
  const settings = optionalObject(data, "trial_settings", prefix);
  if (settings) {
    rejectUnknown(settings, ["end_behavior"], [...prefix, "trial_settings"]);
    const behavior = optionalObject(settings, "end_behavior", [...prefix, "trial_settings"]);
    if (!behavior) throw parameterMissing("subscription_data[trial_settings][end_behavior]");
    const path = [...prefix, "trial_settings", "end_behavior"];
    rejectUnknown(behavior, ["missing_payment_method"], path);
    const value = requiredString(behavior, "missing_payment_method", path);
    if (!MISSING_PAYMENT_METHOD.includes(value)) {
      throw notOneOf(
        "subscription_data[trial_settings][end_behavior][missing_payment_method]",
        MISSING_PAYMENT_METHOD,
      );
    }
    missingPaymentMethod = value as MissingPaymentMethod;
  }
  return {
    metadata: mergeMetadata(
      {},
      optionalMetadata(data, "metadata", prefix),
      "subscription_data[metadata]",
    ),
    trialPeriodDays,
    missingPaymentMethod,
  };
}

/** `discounts`: one coupon or promotion code that exists. */
function readDiscounts(state: StripeState, params: ParamObject): DiscountInput[] {
  const raw = optionalArray(params, "discounts");
  if (raw === undefined) return [];
  if (raw.length > 1) {
    throw parameterInvalid("discounts", "You may only specify one discount.");
  }
  return raw.map((entry, index) => {
    const prefix = ["discounts", String(index)];
    if (typeof entry === "string" || Array.isArray(entry)) {
      throw parameterInvalid(`discounts[${index}]`, "Invalid hash");
    }
    rejectUnknown(entry, ["coupon", "promotion_code"], prefix);
    const coupon = optionalString(entry, "coupon", prefix);
    const promotionCode = optionalString(entry, "promotion_code", prefix);
    if ((coupon === undefined) === (promotionCode === undefined)) {
      throw parameterInvalid(
        `discounts[${index}]`,
        "You must specify exactly one of `coupon` or `promotion_code`.",
      );
    }
    if (coupon !== undefined && !state.coupons.has(coupon)) {
      throw resourceMissing("coupon", coupon, `discounts[${index}][coupon]`, 400);
    }
    if (promotionCode !== undefined) {
      const found = state.promotionCodes.get(promotionCode);
      if (!found?.active) {
        throw resourceMissing(
          "promotion code",
          promotionCode,
          `discounts[${index}][promotion_code]`,
          400,
        );
      }
    }
    return { ...(coupon ? { coupon } : {}), ...(promotionCode ? { promotionCode } : {}) };
  });
}

/** `customer_update`: `auto` or `never` for the address, name and shipping. */
function readCustomerUpdate(params: ParamObject, customer: string | undefined): CustomerUpdate {
  const update = optionalObject(params, "customer_update");
  if (!update) return {};
  if (customer === undefined) {
    throw parameterInvalid(
      "customer_update",
      "`customer_update` can only be used with `customer` or `customer_account`.",
    );
  }
  rejectUnknown(update, CUSTOMER_UPDATE_FIELDS, ["customer_update"]);
  const result: CustomerUpdate = {};
  for (const field of CUSTOMER_UPDATE_FIELDS) {
    const value = optionalString(update, field, ["customer_update"]);
    if (value === undefined) continue;
    if (value !== "auto" && value !== "never") {
      throw notOneOf(`customer_update[${field}]`, ["auto", "never"]);
    }
    result[field as keyof CustomerUpdate] = value;
  }
  return result;
}

function createSession(state: StripeState, params: ParamObject): Stripe.Checkout.Session {
  rejectUnknown(params, CHECKOUT_CREATE);
  const mode = requiredString(params, "mode");
  if (!MODES.includes(mode)) throw notOneOf("mode", MODES);
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
  const customer = customerId === undefined
    ? undefined
    : state.liveCustomer(requiredString(params, "customer"), "customer");

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

  const collection = optionalString(params, "payment_method_collection");
  if (collection !== undefined) {
    if (collection !== "always" && collection !== "if_required") {
      throw notOneOf("payment_method_collection", ["always", "if_required"]);
    }
    if (mode !== "subscription") {
      throw parameterInvalid(
        "payment_method_collection",
        "`payment_method_collection` can only be set in `subscription` mode.",
      );
    }
  }

  const allowPromotionCodes = optionalBoolean(params, "allow_promotion_codes");
  if (allowPromotionCodes !== undefined && params.discounts !== undefined) {
    throw parameterInvalid(
      "discounts",
      "You may only specify one of these parameters: allow_promotion_codes, discounts.",
      "parameters_exclusive",
    );
  }
  const discounts = readDiscounts(state, params);

  const automaticTaxParams = optionalObject(params, "automatic_tax");
  if (automaticTaxParams) {
    rejectUnknown(automaticTaxParams, ["enabled", "liability"], ["automatic_tax"]);
  }
  const automaticTax = automaticTaxParams
    ? optionalBoolean(automaticTaxParams, "enabled", ["automatic_tax"])
    : undefined;
  if (automaticTaxParams && automaticTax === undefined) {
    throw parameterMissing("automatic_tax[enabled]");
  }
  const customerUpdate = readCustomerUpdate(params, customerId);
  if (
    automaticTax && customer && customer.address === null &&
    customerUpdate.address !== "auto" && customerUpdate.shipping !== "auto"
  ) {
    throw invalidRequest(TAX_LOCATION_MESSAGE, "customer_tax_location_invalid");
  }

  const lineItems = readLineItems(state, params, mode);
  const subscriptionData = readSubscriptionData(params, mode);

  const input: CheckoutInput = {
    mode: mode as Stripe.Checkout.Session.Mode,
    customer: customerId ?? null,
    customerEmail: customerEmail || null,
    clientReferenceId: optionalString(params, "client_reference_id") || null,
    metadata: mergeMetadata({}, optionalMetadata(params)),
    allowedPaymentMethodTypes: methodTypes === undefined ? null : methodTypes.map(String),
    lineItems,
    subscriptionMetadata: subscriptionData.metadata,
    trialPeriodDays: subscriptionData.trialPeriodDays,
    missingPaymentMethod: subscriptionData.missingPaymentMethod,
    successUrl: successUrl ?? null,
    cancelUrl: cancelUrl ?? null,
    paymentMethodCollection: collection ?? null,
    allowPromotionCodes: allowPromotionCodes ?? null,
    automaticTax: automaticTax ?? false,
    customerUpdate,
    discounts,
  };
  return createCheckoutSession(state, input);
}

/** Checkout sessions' routes. */
export const CHECKOUT_ROUTES: Routes = {
  "POST checkout/sessions": (state, params) => createSession(state, params),
  "GET checkout/sessions/:id": (state, params, ids) => {
    rejectUnknown(params, ["expand"]);
    return state.checkout(idAt(ids)).session;
  },
  "POST checkout/sessions/:id/expire": (state, params, ids) => {
    rejectUnknown(params, ["expand"]);
    return expireCheckout(state, idAt(ids));
  },
};
