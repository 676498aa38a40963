/**
 * Billing: the invoices of a subscription, from draft to paid or failed, and the payment
 * methods that pay them. A subscription bills its items for the period (less its discounts);
 * the payment succeeds when a payment method is on file and no failure was asked for.
 */
import type { Stripe } from "../../supabase/functions/_shared/stripe.ts";
import { invoiceObject, isEnded } from "./billing_objects.ts";
import { StripeApiError } from "./errors.ts";
import { newId } from "./objects.ts";
import type { StripeState } from "./state.ts";

/** Options of a billing cycle's payment. */
export interface RenewOptions {
  /** The renewal payment fails: the invoice stays open and the subscription goes `past_due`. */
  fail?: boolean;
  /** The renewal payment needs the customer's authentication (3-D Secure). */
  requireAction?: boolean;
}

/** A test card's payment method id, as Checkout or the portal collects one. */
export function newPaymentMethodId(): string {
  return newId("pm", 24);
}

/** The payment method that pays a subscription: its own, else its customer's default. */
export function paymentMethodOf(
  state: StripeState,
  subscription: Stripe.Subscription,
): string | null {
  const own = subscription.default_payment_method;
  if (own) return typeof own === "string" ? own : own.id;
  const customer = state.customers.get(String(subscription.customer));
  if (!customer || customer.deleted) return null;
  const fallback = customer.invoice_settings.default_payment_method;
  return fallback ? (typeof fallback === "string" ? fallback : fallback.id) : null;
}

/** The subscription's discounts with their coupons, for its invoices. */
function discountsOf(
  state: StripeState,
  subscription: Stripe.Subscription,
): { id: string; coupon: Stripe.Coupon }[] {
  return subscription.discounts.flatMap((entry) => {
    const discount = state.discounts.get(typeof entry === "string" ? entry : entry.id);
    const couponId = discount?.source.coupon;
    const coupon = state.coupons.get(
      typeof couponId === "string" ? couponId : couponId?.id ?? "",
    );
    return discount && coupon ? [{ id: discount.id, coupon }] : [];
  });
}

/** A draft invoice of the subscription's items for `period`, now its latest invoice. */
export function newInvoice(
  state: StripeState,
  subscription: Stripe.Subscription,
  billingReason: Stripe.Invoice.BillingReason,
  charged: boolean,
  period: { start: number; end: number },
): Stripe.Invoice {
  const customer = state.liveCustomer(String(subscription.customer), "customer");
  const invoice = invoiceObject({
    id: newId("in", 24),
    customer,
    subscription,
    billingReason,
    // An invoice's own period is the one before its lines' (Stripe bills usage in arrears).
    periodStart: period.start,
    periodEnd: period.end,
    charged,
    created: state.now(),
    livemode: state.livemode,
    discounts: charged ? discountsOf(state, subscription) : [],
    automaticTax: subscription.automatic_tax.enabled,
    productName: (productId) => state.productName(productId),
  });
  state.invoices.set(invoice.id, invoice);
  subscription.latest_invoice = invoice.id;
  return invoice;
}

/** Finalizes a draft invoice: a number, `open`, a hosted page (`invoice.finalized`). */
export function finalize(state: StripeState, invoice: Stripe.Invoice): void {
  const customer = state.customers.get(String(invoice.customer));
  const prefix = customer && !customer.deleted ? customer.invoice_prefix : "LOCAL";
  invoice.number = `${prefix}-${String(state.nextInvoiceNumber()).padStart(4, "0")}`;
  invoice.status = "open";
  invoice.effective_at = state.now();
  invoice.status_transitions.finalized_at = state.now();
  invoice.hosted_invoice_url = `${state.publicUrl()}/i/${invoice.id}`;
  state.emit("invoice.finalized", invoice);
}

/** Pays an open invoice in full (`invoice.paid`, `invoice.payment_succeeded`). */
export function pay(state: StripeState, invoice: Stripe.Invoice): void {
  invoice.attempted = true;
  invoice.attempt_count += 1;
  invoice.amount_paid = invoice.amount_due;
  invoice.amount_remaining = 0;
  invoice.status = "paid";
  invoice.status_transitions.paid_at = state.now();
  invoice.next_payment_attempt = null;
  state.emit("invoice.paid", invoice);
  state.emit("invoice.payment_succeeded", invoice);
}

/** A failed attempt: `invoice.payment_failed`, or `invoice.payment_action_required`. */
export function failPayment(
  state: StripeState,
  invoice: Stripe.Invoice,
  requireAction: boolean,
): void {
  invoice.attempted = true;
  invoice.attempt_count += 1;
  invoice.next_payment_attempt = requireAction ? null : state.now() + 3 * 24 * 60 * 60;
  state.emit(
    requireAction ? "invoice.payment_action_required" : "invoice.payment_failed",
    invoice,
  );
}

/** The subscription's latest invoice when it is still open. */
export function openInvoice(
  state: StripeState,
  subscription: Stripe.Subscription,
): Stripe.Invoice | undefined {
  const id = subscription.latest_invoice;
  const invoice = typeof id === "string" ? state.invoices.get(id) : undefined;
  return invoice?.status === "open" ? invoice : undefined;
}

/**
 * Creates, finalizes and collects an invoice for the current period. A paused collection
 * voids or marks it uncollectible instead; a failed payment (asked for, or no payment method
 * on file) leaves it open and the subscription `past_due`.
 */
export function billCycle(
  state: StripeState,
  subscription: Stripe.Subscription,
  reason: Stripe.Invoice.BillingReason,
  options: RenewOptions,
  period: { start: number; end: number },
): void {
  const invoice = newInvoice(state, subscription, reason, true, period);
  state.emit("invoice.created", invoice);
  const pause = subscription.pause_collection;
  if (pause) {
    if (pause.behavior === "void") {
      finalize(state, invoice);
      invoice.status = "void";
      invoice.status_transitions.voided_at = state.now();
      invoice.amount_remaining = 0;
      state.emit("invoice.voided", invoice);
    } else if (pause.behavior === "mark_uncollectible") {
      finalize(state, invoice);
      invoice.status = "uncollectible";
      invoice.status_transitions.marked_uncollectible_at = state.now();
      state.emit("invoice.marked_uncollectible", invoice);
    }
    return;
  }
  finalize(state, invoice);
  const fail = options.fail === true || options.requireAction === true ||
    state.failingSubscriptions.has(subscription.id) ||
    paymentMethodOf(state, subscription) === null;
  state.failingSubscriptions.delete(subscription.id);
  if (!fail || invoice.amount_due === 0) {
    pay(state, invoice);
    if (subscription.status === "past_due" || subscription.status === "unpaid") {
      state.update("customer.subscription.updated", subscription, (sub) => {
        sub.status = "active";
      });
    }
    return;
  }
  failPayment(state, invoice, options.requireAction === true);
  state.update("customer.subscription.updated", subscription, (sub) => {
    sub.status = "past_due";
  });
}

/** Pays the open invoice: `invoice.paid`, `invoice.payment_succeeded`, back to `active`. */
export function payOpenInvoice(state: StripeState, id: string): Stripe.Subscription {
  const subscription = state.subscription(id);
  const invoice = openInvoice(state, subscription);
  if (!invoice) {
    throw new StripeApiError(400, {
      type: "invalid_request_error",
      code: "invoice_not_open",
      message: `Subscription '${id}' has no open invoice to pay`,
    });
  }
  state.failingSubscriptions.delete(id);
  pay(state, invoice);
  state.update("customer.subscription.updated", subscription, (sub) => {
    if (sub.status === "past_due" || sub.status === "unpaid") sub.status = "active";
  });
  return subscription;
}

/**
 * Saves a new card as the customer's default payment method (`customer.updated`) and as the
 * payment method of its running subscriptions (`customer.subscription.updated` each).
 */
export function updatePaymentMethod(state: StripeState, customerId: string): string {
  const customer = state.liveCustomer(customerId, "customer");
  const paymentMethod = newPaymentMethodId();
  state.update("customer.updated", customer, (target) => {
    target.invoice_settings = { ...target.invoice_settings, default_payment_method: paymentMethod };
  });
  for (const subscription of state.subscriptionsOf(customerId)) {
    if (isEnded(subscription)) {
      continue;
    }
    state.update("customer.subscription.updated", subscription, (sub) => {
      sub.default_payment_method = paymentMethod;
    });
  }
  return paymentMethod;
}
