/** Builders for subscriptions, invoices and discounts, in API 2026-10-28.endive's shape. */
import type { Stripe } from "../../supabase/functions/_shared/stripe.ts";
import { decimal, formatAmount, newId, planObject } from "./objects.ts";

/** Whether a subscription has ended for good (canceled, or never paid and expired). */
export function isEnded(subscription: Stripe.Subscription): boolean {
  return subscription.status === "canceled" || subscription.status === "incomplete_expired";
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
  livemode: boolean;
  /** What happens when the trial ends without a payment method. Default `create_invoice`. */
  missingPaymentMethod?: Stripe.Subscription.TrialSettings.EndBehavior.MissingPaymentMethod;
  automaticTax?: boolean;
  defaultPaymentMethod?: string | null;
  discounts?: string[];
}

/** A subscription; its periods live on its items. */
export function subscriptionObject(fields: SubscriptionFields): Stripe.Subscription {
  return {
    id: fields.id,
    object: "subscription",
    application: null,
    application_fee_percent: null,
    automatic_tax: fields.automaticTax
      ? { disabled_reason: null, enabled: true, liability: { type: "self" } }
      : { disabled_reason: null, enabled: false, liability: null },
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
    default_payment_method: fields.defaultPaymentMethod ?? null,
    default_source: null,
    default_tax_rates: [],
    description: null,
    discounts: fields.discounts ?? [],
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
    livemode: fields.livemode,
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
      end_behavior: {
        billing_cycle_anchor: null,
        missing_payment_method: fields.missingPaymentMethod ?? "create_invoice",
      },
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
  livemode: boolean;
  /** The subscription's discounts, each with its coupon, applied to the charged lines. */
  discounts: { id: string; coupon: Stripe.Coupon }[];
  automaticTax: boolean;
}

/** What a coupon takes off an amount: its percentage, or its fixed amount at most. */
export function couponAmount(coupon: Stripe.Coupon, amount: number): number {
  if (coupon.percent_off !== null) return Math.round(amount * coupon.percent_off / 100);
  return Math.min(amount, coupon.amount_off ?? 0);
}

/** A draft invoice for a subscription's current items. */
export function invoiceObject(fields: InvoiceFields): Stripe.Invoice {
  const items = fields.subscription.items.data;
  const totalDiscounts = fields.discounts.map((discount) => ({ discount: discount.id, amount: 0 }));
  const lines = items.map((item): Stripe.InvoiceLineItem => {
    const quantity = item.quantity ?? 1;
    const amount = fields.charged ? (item.price.unit_amount ?? 0) * quantity : 0;
    let remaining = amount;
    const discountAmounts = fields.discounts.map((discount, index) => {
      const off = Math.min(remaining, couponAmount(discount.coupon, amount));
      remaining -= off;
      const total = totalDiscounts[index];
      if (total) total.amount += off;
      return { amount: off, discount: discount.id };
    });
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
      discount_amounts: discountAmounts,
      discountable: true,
      discounts: fields.discounts.map((discount) => discount.id),
      invoice: fields.id,
      livemode: fields.livemode,
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
  const subtotal = lines.reduce((sum, line) => sum + line.amount, 0);
  const total = subtotal - totalDiscounts.reduce((sum, discount) => sum + discount.amount, 0);
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
    automatic_tax: fields.automaticTax
      ? {
        disabled_reason: null,
        enabled: true,
        liability: { type: "self" },
        provider: "stripe",
        status: "complete",
      }
      : { disabled_reason: null, enabled: false, liability: null, provider: null, status: null },
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
    discounts: fields.discounts.map((discount) => discount.id),
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
    livemode: fields.livemode,
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
    subtotal,
    subtotal_excluding_tax: subtotal,
    test_clock: null,
    total,
    total_discount_amounts: totalDiscounts,
    total_excluding_tax: total,
    total_pretax_credit_amounts: [],
    total_taxes: [],
    webhooks_delivered_at: null,
  };
}

/** What a coupon is made of. */
export interface CouponFields {
  id: string;
  name: string;
  percentOff: number | null;
  amountOff: number | null;
  currency: string | null;
  duration: Stripe.Coupon.Duration;
  created: number;
  livemode: boolean;
}

/** A coupon. */
export function couponObject(fields: CouponFields): Stripe.Coupon {
  return {
    id: fields.id,
    object: "coupon",
    amount_off: fields.amountOff,
    created: fields.created,
    currency: fields.currency,
    duration: fields.duration,
    duration_in_months: null,
    livemode: fields.livemode,
    max_redemptions: null,
    metadata: {},
    name: fields.name,
    percent_off: fields.percentOff,
    redeem_by: null,
    times_redeemed: 0,
    valid: true,
  };
}

/** A promotion code: the code a person types for a coupon. */
export function promotionCodeObject(fields: {
  id: string;
  code: string;
  coupon: string;
  created: number;
  livemode: boolean;
}): Stripe.PromotionCode {
  return {
    id: fields.id,
    object: "promotion_code",
    active: true,
    code: fields.code,
    created: fields.created,
    customer: null,
    customer_account: null,
    expires_at: null,
    livemode: fields.livemode,
    max_redemptions: null,
    metadata: {},
    promotion: { coupon: fields.coupon, type: "coupon" },
    restrictions: {
      first_time_transaction: false,
      minimum_amount: null,
      minimum_amount_currency: null,
    },
    times_redeemed: 0,
  };
}

/** A discount: a coupon applied to a subscription, maybe through a promotion code. */
export function discountObject(fields: {
  id: string;
  coupon: string;
  promotionCode: string | null;
  customer: string;
  subscription: string;
  checkoutSession: string | null;
  start: number;
}): Stripe.Discount {
  return {
    id: fields.id,
    object: "discount",
    checkout_session: fields.checkoutSession,
    customer: fields.customer,
    customer_account: null,
    end: null,
    invoice: null,
    invoice_item: null,
    promotion_code: fields.promotionCode,
    source: { coupon: fields.coupon, type: "coupon" },
    start: fields.start,
    subscription: fields.subscription,
    subscription_item: null,
  };
}
