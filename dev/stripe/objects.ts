/** Builders for Stripe objects in the shape API 2026-10-28.endive sends, every field present. */
import type { Stripe } from "../../supabase/functions/_shared/stripe.ts";

const ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/** Random letters and digits. */
export function randomChars(length: number): string {
  const bytes = crypto.getRandomValues(new Uint8Array(length));
  let chars = "";
  for (const byte of bytes) chars += ALPHABET[byte % ALPHABET.length];
  return chars;
}

/** A Stripe-looking id: `cus_` followed by random letters and digits. */
export function newId(prefix: string, length = 14): string {
  return `${prefix}_${randomChars(length)}`;
}

/**
 * A decimal field's value. On the wire a decimal is its string, and every object the emulator
 * holds reaches a client only through JSON, so the string is all a decimal needs to be here.
 */
export function decimal(value: string | number): Stripe.Decimal {
  return String(value) as unknown as Stripe.Decimal;
}

/** A deep copy as the wire sees it (Decimal values become their string form). */
export function snapshot<T>(value: T): T {
  return JSON.parse(JSON.stringify(value));
}

/** Adds `count` intervals to a timestamp the way Stripe's billing cycle does (UTC calendar). */
export function addInterval(
  seconds: number,
  interval: Stripe.Price.Recurring.Interval,
  count: number,
): number {
  const date = new Date(seconds * 1000);
  switch (interval) {
    case "day":
      date.setUTCDate(date.getUTCDate() + count);
      break;
    case "week":
      date.setUTCDate(date.getUTCDate() + 7 * count);
      break;
    case "year":
      date.setUTCFullYear(date.getUTCFullYear() + count);
      break;
    default: {
      // Month ends clamp: Jan 31 + 1 month is Feb 28/29, as Stripe bills it.
      const day = date.getUTCDate();
      date.setUTCDate(1);
      date.setUTCMonth(date.getUTCMonth() + count);
      const last = new Date(Date.UTC(date.getUTCFullYear(), date.getUTCMonth() + 1, 0))
        .getUTCDate();
      date.setUTCDate(Math.min(day, last));
    }
  }
  return Math.floor(date.getTime() / 1000);
}

/** A product. */
export function productObject(id: string, name: string, created: number): Stripe.Product {
  return {
    id,
    object: "product",
    active: true,
    created,
    default_price: null,
    description: null,
    images: [],
    livemode: false,
    marketing_features: [],
    metadata: {},
    name,
    package_dimensions: null,
    shippable: null,
    statement_descriptor: null,
    tax_code: null,
    tax_details: null,
    type: "service",
    unit_label: null,
    updated: created,
    url: null,
  };
}

/** What a price is made of. */
export interface PriceFields {
  id: string;
  product: string;
  unitAmount: number;
  currency: string;
  recurring: { interval: Stripe.Price.Recurring.Interval; intervalCount: number } | null;
  nickname?: string | null;
  lookupKey?: string | null;
  metadata?: Record<string, string>;
  created: number;
}

/** A price (per-unit, licensed). */
export function priceObject(fields: PriceFields): Stripe.Price {
  return {
    id: fields.id,
    object: "price",
    active: true,
    billing_scheme: "per_unit",
    created: fields.created,
    currency: fields.currency,
    custom_unit_amount: null,
    livemode: false,
    lookup_key: fields.lookupKey ?? null,
    metadata: fields.metadata ?? {},
    nickname: fields.nickname ?? null,
    product: fields.product,
    recurring: fields.recurring
      ? {
        interval: fields.recurring.interval,
        interval_count: fields.recurring.intervalCount,
        meter: null,
        trial_period_days: null,
        usage_type: "licensed",
      }
      : null,
    tax_behavior: "unspecified",
    tiers_mode: null,
    transform_quantity: null,
    type: fields.recurring ? "recurring" : "one_time",
    unit_amount: fields.unitAmount,
    unit_amount_decimal: decimal(fields.unitAmount),
  };
}

/** The legacy plan that Stripe still mirrors on subscription items. */
export function planObject(price: Stripe.Price): Stripe.Plan {
  return {
    id: price.id,
    object: "plan",
    active: price.active,
    amount: price.unit_amount,
    amount_decimal: price.unit_amount_decimal,
    billing_scheme: price.billing_scheme,
    created: price.created,
    currency: price.currency,
    interval: price.recurring?.interval ?? "month",
    interval_count: price.recurring?.interval_count ?? 1,
    livemode: false,
    metadata: price.metadata,
    meter: null,
    nickname: price.nickname,
    product: price.product,
    tiers_mode: null,
    transform_usage: null,
    trial_period_days: null,
    usage_type: "licensed",
  };
}

/** What a customer is made of. */
export interface CustomerFields {
  id: string;
  email: string | null;
  name: string | null;
  description: string | null;
  phone: string | null;
  metadata: Record<string, string>;
  created: number;
}

/** A customer. */
export function customerObject(fields: CustomerFields): Stripe.Customer {
  return {
    id: fields.id,
    object: "customer",
    address: null,
    balance: 0,
    created: fields.created,
    currency: null,
    customer_account: null,
    default_source: null,
    delinquent: false,
    description: fields.description,
    discount: null,
    email: fields.email,
    invoice_prefix: fields.id.slice(4, 12).toUpperCase(),
    invoice_settings: {
      custom_fields: null,
      default_payment_method: null,
      footer: null,
      rendering_options: null,
    },
    livemode: false,
    metadata: fields.metadata,
    name: fields.name,
    next_invoice_sequence: 1,
    phone: fields.phone,
    preferred_locales: [],
    shipping: null,
    tax_exempt: "none",
    test_clock: null,
  };
}

/** What a checkout session is made of. */
export interface CheckoutSessionFields {
  id: string;
  mode: Stripe.Checkout.Session.Mode;
  customer: string | null;
  customerEmail: string | null;
  clientReferenceId: string | null;
  metadata: Record<string, string>;
  allowedPaymentMethodTypes: string[] | null;
  currency: string | null;
  amount: number | null;
  successUrl: string | null;
  cancelUrl: string | null;
  url: string;
  created: number;
  expiresAt: number;
}

/** An open checkout session. */
export function checkoutSessionObject(fields: CheckoutSessionFields): Stripe.Checkout.Session {
  return {
    id: fields.id,
    object: "checkout.session",
    adaptive_pricing: { enabled: false },
    after_expiration: null,
    allow_promotion_codes: null,
    allowed_payment_method_types: fields.allowedPaymentMethodTypes,
    amount_subtotal: fields.amount,
    amount_total: fields.amount,
    automatic_tax: { enabled: false, liability: null, provider: null, status: null },
    billing_address_collection: null,
    cancel_url: fields.cancelUrl,
    client_reference_id: fields.clientReferenceId,
    client_secret: null,
    collected_information: null,
    consent: null,
    consent_collection: null,
    created: fields.created,
    currency: fields.currency,
    currency_conversion: null,
    custom_fields: [],
    custom_text: {
      after_submit: null,
      shipping_address: null,
      submit: null,
      terms_of_service_acceptance: null,
    },
    customer: fields.customer,
    customer_account: null,
    customer_creation: fields.customer ? null : "if_required",
    customer_details: fields.customerEmail === null ? null : {
      address: null,
      business_name: null,
      email: fields.customerEmail,
      individual_name: null,
      name: null,
      phone: null,
      tax_exempt: "none",
      tax_ids: null,
    },
    customer_email: fields.customer ? null : fields.customerEmail,
    discounts: [],
    expires_at: fields.expiresAt,
    integration_identifier: null,
    invoice: null,
    invoice_creation: null,
    livemode: false,
    locale: null,
    managed_payments: null,
    metadata: fields.metadata,
    mode: fields.mode,
    origin_context: null,
    payment_intent: null,
    payment_link: null,
    payment_method_collection: fields.mode === "subscription" ? "always" : null,
    payment_method_configuration_details: null,
    payment_method_options: {},
    payment_method_types: fields.allowedPaymentMethodTypes ?? ["card"],
    payment_status: fields.mode === "setup" ? "no_payment_required" : "unpaid",
    permissions: null,
    phone_number_collection: { enabled: false },
    recovered_from: null,
    saved_payment_method_options: null,
    setup_intent: null,
    shipping_address_collection: null,
    shipping_cost: null,
    shipping_options: [],
    status: "open",
    submit_type: null,
    subscription: null,
    success_url: fields.successUrl,
    total_details: { amount_discount: 0, amount_shipping: 0, amount_tax: 0 },
    ui_mode: "hosted_page",
    url: fields.url,
    wallet_options: null,
  };
}

/** A billing portal session. */
export function portalSessionObject(fields: {
  id: string;
  customer: string;
  returnUrl: string | null;
  url: string;
  created: number;
}): Stripe.BillingPortal.Session {
  return {
    id: fields.id,
    object: "billing_portal.session",
    configuration: "bpc_local_default",
    created: fields.created,
    customer: fields.customer,
    customer_account: null,
    flow: null,
    livemode: false,
    locale: null,
    on_behalf_of: null,
    return_url: fields.returnUrl,
    url: fields.url,
  };
}

/** A subscription item for one price, with its own billing period. */
export function subscriptionItemObject(fields: {
  id: string;
  subscription: string;
  price: Stripe.Price;
  quantity: number;
  periodStart: number;
  periodEnd: number;
  created: number;
}): Stripe.SubscriptionItem {
  return {
    id: fields.id,
    object: "subscription_item",
    billing_thresholds: null,
    created: fields.created,
    current_period_end: fields.periodEnd,
    current_period_start: fields.periodStart,
    current_trial: null,
    discounts: [],
    metadata: {},
    plan: planObject(fields.price),
    price: fields.price,
    quantity: fields.quantity,
    subscription: fields.subscription,
    tax_rates: [],
  };
}

/** What a subscription is made of. */
export interface SubscriptionFields {
  id: string;
  customer: string;
  currency: string;
  items: Stripe.SubscriptionItem[];
  metadata: Record<string, string>;
  status: Stripe.Subscription.Status;
  trialStart: number | null;
  trialEnd: number | null;
  created: number;
}

/** A subscription; its periods live on its items. */
export function subscriptionObject(fields: SubscriptionFields): Stripe.Subscription {
  return {
    id: fields.id,
    object: "subscription",
    application: null,
    application_fee_percent: null,
    automatic_tax: { disabled_reason: null, enabled: false, liability: null },
    billing_cycle_anchor: fields.trialEnd ?? fields.created,
    billing_cycle_anchor_config: null,
    billing_mode: { flexible: { proration_discounts: "included" }, type: "flexible" },
    billing_schedules: [],
    billing_thresholds: null,
    cancel_at: null,
    cancel_at_period_end: false,
    canceled_at: null,
    cancellation_details: { comment: null, feedback: null, feedback_option: null, reason: null },
    collection_method: "charge_automatically",
    created: fields.created,
    currency: fields.currency,
    customer: fields.customer,
    customer_account: null,
    days_until_due: null,
    default_payment_method: null,
    default_source: null,
    default_tax_rates: [],
    description: null,
    discounts: [],
    ended_at: null,
    invoice_settings: {
      account_tax_ids: null,
      custom_fields: null,
      description: null,
      footer: null,
      issuer: { type: "self" },
    },
    items: {
      object: "list",
      data: fields.items,
      has_more: false,
      url: `/v1/subscription_items?subscription=${fields.id}`,
    },
    latest_invoice: null,
    livemode: false,
    managed_payments: null,
    metadata: fields.metadata,
    next_pending_invoice_item_invoice: null,
    on_behalf_of: null,
    pause_collection: null,
    payment_settings: {
      payment_method_options: null,
      payment_method_types: null,
      save_default_payment_method: "off",
    },
    pending_invoice_item_interval: null,
    pending_setup_intent: null,
    pending_update: null,
    schedule: null,
    start_date: fields.created,
    status: fields.status,
    test_clock: null,
    transfer_data: null,
    trial_end: fields.trialEnd,
    trial_settings: {
      end_behavior: { billing_cycle_anchor: null, missing_payment_method: "create_invoice" },
    },
    trial_start: fields.trialStart,
  };
}

/** What an invoice is made of: one line per subscription item. */
export interface InvoiceFields {
  id: string;
  customer: Stripe.Customer;
  subscription: Stripe.Subscription;
  billingReason: Stripe.Invoice.BillingReason;
  periodStart: number;
  periodEnd: number;
  /** Whether the lines are charged (false for a trial's zero invoice). */
  charged: boolean;
  /** Names products for line descriptions. */
  productName: (productId: string) => string;
  created: number;
}

/** A draft invoice for a subscription's current items. */
export function invoiceObject(fields: InvoiceFields): Stripe.Invoice {
  const items = fields.subscription.items.data;
  const lines = items.map((item): Stripe.InvoiceLineItem => {
    const quantity = item.quantity ?? 1;
    const amount = fields.charged ? (item.price.unit_amount ?? 0) * quantity : 0;
    const product = typeof item.price.product === "string"
      ? item.price.product
      : item.price.product.id;
    return {
      id: newId("il"),
      object: "line_item",
      amount,
      currency: item.price.currency,
      description: fields.charged
        ? `${quantity} × ${fields.productName(product)} (at ${
          formatAmount(item.price.unit_amount ?? 0, item.price.currency)
        } / ${item.price.recurring?.interval ?? "month"})`
        : `Trial period for ${fields.productName(product)}`,
      discount_amounts: [],
      discountable: true,
      discounts: [],
      invoice: fields.id,
      livemode: false,
      metadata: {},
      parent: {
        invoice_item_details: null,
        subscription_item_details: {
          invoice_item: null,
          proration: false,
          proration_details: { credited_items: null },
          subscription: fields.subscription.id,
          subscription_item: item.id,
        },
        type: "subscription_item_details",
      },
      period: { start: item.current_period_start, end: item.current_period_end },
      pretax_credit_amounts: [],
      pricing: {
        price_details: {
          price: item.price.id,
          product,
        },
        type: "price_details",
        unit_amount_decimal: fields.charged ? item.price.unit_amount_decimal : decimal(0),
      },
      quantity,
      quantity_decimal: decimal(quantity),
      subscription: fields.subscription.id,
      subtotal: amount,
      taxes: [],
    };
  });
  const total = lines.reduce((sum, line) => sum + line.amount, 0);
  return {
    id: fields.id,
    object: "invoice",
    account_country: "US",
    account_name: "Local emulator",
    account_tax_ids: null,
    amount_due: total,
    amount_overpaid: 0,
    amount_paid: 0,
    amount_remaining: total,
    amount_shipping: 0,
    application: null,
    attempt_count: 0,
    attempted: false,
    auto_advance: true,
    automatic_tax: {
      disabled_reason: null,
      enabled: false,
      liability: null,
      provider: null,
      status: null,
    },
    automatically_finalizes_at: null,
    billing_reason: fields.billingReason,
    collection_method: "charge_automatically",
    created: fields.created,
    currency: fields.subscription.currency,
    custom_fields: null,
    customer: fields.customer.id,
    customer_account: null,
    customer_address: null,
    customer_email: fields.customer.email,
    customer_name: fields.customer.name ?? null,
    customer_phone: fields.customer.phone ?? null,
    customer_shipping: null,
    customer_tax_exempt: "none",
    customer_tax_ids: [],
    default_payment_method: null,
    default_source: null,
    default_tax_rates: [],
    description: null,
    discounts: [],
    due_date: null,
    effective_at: null,
    ending_balance: null,
    footer: null,
    from_invoice: null,
    hosted_invoice_url: null,
    invoice_pdf: null,
    issuer: { type: "self" },
    last_finalization_error: null,
    latest_revision: null,
    lines: {
      object: "list",
      data: lines,
      has_more: false,
      url: `/v1/invoices/${fields.id}/lines`,
    },
    livemode: false,
    metadata: {},
    next_payment_attempt: null,
    number: null,
    on_behalf_of: null,
    parent: {
      quote_details: null,
      subscription_details: {
        metadata: { ...fields.subscription.metadata },
        subscription: fields.subscription.id,
      },
      type: "subscription_details",
    },
    payment_settings: {
      default_mandate: null,
      payment_method_options: null,
      payment_method_types: null,
    },
    period_end: fields.periodEnd,
    period_start: fields.periodStart,
    post_payment_credit_notes_amount: 0,
    pre_payment_credit_notes_amount: 0,
    receipt_number: null,
    rendering: null,
    shipping_cost: null,
    shipping_details: null,
    starting_balance: 0,
    statement_descriptor: null,
    status: "draft",
    status_transitions: {
      finalized_at: null,
      marked_uncollectible_at: null,
      paid_at: null,
      voided_at: null,
    },
    subtotal: total,
    subtotal_excluding_tax: total,
    test_clock: null,
    total,
    total_discount_amounts: [],
    total_excluding_tax: total,
    total_pretax_credit_amounts: [],
    total_taxes: [],
    webhooks_delivered_at: null,
  };
}

/** `$10.00`-style amount for a currency in minor units. */
export function formatAmount(minor: number, currency: string): string {
  return new Intl.NumberFormat("en-US", { style: "currency", currency: currency.toUpperCase() })
    .format(minor / 100);
}

/** A Stripe list object. */
export function listObject<T>(data: T[], url: string, hasMore = false): Stripe.ApiList<T> {
  return { object: "list", data, has_more: hasMore, url };
}
