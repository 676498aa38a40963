/**
 * Checkout: a session is created open, then completed (a person paid on its page, or a test
 * said so) or expired. Completing a subscription-mode session makes the customer when there is
 * none, the subscription with its trial and discounts, and its first invoice, with Stripe's
 * events in Stripe's order.
 */
import type { Stripe } from "../../supabase/functions/_shared/stripe.ts";
import { finalize, newInvoice, newPaymentMethodId, pay } from "./billing.ts";
import { couponAmount, discountObject } from "./billing_objects.ts";
import { couponOf, promotionCodeByCode } from "./catalog.ts";
import { createCustomer, updateCustomer } from "./customers.ts";
import { StripeApiError } from "./errors.ts";
import { newId, randomChars } from "./objects.ts";
import { checkoutSessionObject } from "./session_objects.ts";
import type { CustomerUpdate, StripeState } from "./state.ts";
import { createSubscription, type MissingPaymentMethod } from "./subscriptions.ts";

/** The address Checkout saves for a customer when asked to (`customer_update[address]=auto`). */
export const TEST_ADDRESS: Stripe.Address = {
  city: "San Francisco",
  country: "US",
  line1: "510 Townsend Street",
  line2: null,
  postal_code: "94103",
  state: "CA",
};

/** A discount asked for at creation: a coupon, or a promotion code. */
export interface DiscountInput {
  coupon?: string;
  promotionCode?: string;
}

/** A checkout session's inputs, already validated. */
export interface CheckoutInput {
  mode: Stripe.Checkout.Session.Mode;
  customer: string | null;
  customerEmail: string | null;
  clientReferenceId: string | null;
  metadata: Record<string, string>;
  allowedPaymentMethodTypes: string[] | null;
  lineItems: { price: string; quantity: number }[];
  subscriptionMetadata: Record<string, string>;
  trialPeriodDays: number | null;
  successUrl: string | null;
  cancelUrl: string | null;
  paymentMethodCollection?: Stripe.Checkout.Session.PaymentMethodCollection | null;
  missingPaymentMethod?: MissingPaymentMethod | null;
  allowPromotionCodes?: boolean | null;
  automaticTax?: boolean;
  customerUpdate?: CustomerUpdate;
  discounts?: DiscountInput[];
}

/** Options of {@link completeCheckout}. */
export interface CompleteCheckoutOptions {
  /** Start the subscription with a trial of this many days (no payment due). */
  trialDays?: number;
  /** A promotion code the person typed (the session must allow them). */
  promotionCode?: string;
  /**
   * Whether the person gave a card. Default: yes, unless the session collects a payment method
   * only if required and nothing is due now (a trial).
   */
  card?: boolean;
  /** The name the person typed, saved on the customer with `customer_update[name]=auto`. */
  name?: string;
}

/** The coupon and promotion code of a session's discounts. */
function sessionDiscount(
  state: StripeState,
  session: Stripe.Checkout.Session,
): { coupon: Stripe.Coupon; promotionCode: Stripe.PromotionCode | null } | null {
  const [discount] = session.discounts ?? [];
  if (!discount) return null;
  const promotionId = typeof discount.promotion_code === "string"
    ? discount.promotion_code
    : discount.promotion_code?.id;
  const promotionCode = promotionId ? state.promotionCodes.get(promotionId) ?? null : null;
  const couponId = typeof discount.coupon === "string" ? discount.coupon : discount.coupon?.id;
  const coupon = promotionCode
    ? couponOf(state, promotionCode)
    : couponId
    ? state.coupons.get(couponId)
    : undefined;
  return coupon ? { coupon, promotionCode } : null;
}

/** Sets the amounts a session shows: today's subtotal, its discount, and the total. */
function priceSession(
  state: StripeState,
  record: { session: Stripe.Checkout.Session; lineItems: { price: string; quantity: number }[] },
  dueNow: boolean,
): void {
  const session = record.session;
  if (session.mode === "setup") return;
  const subtotal = dueNow
    ? record.lineItems.reduce(
      (sum, item) => sum + (state.price(item.price).unit_amount ?? 0) * item.quantity,
      0,
    )
    : 0;
  const discount = sessionDiscount(state, session);
  const off = discount ? couponAmount(discount.coupon, subtotal) : 0;
  session.amount_subtotal = subtotal;
  session.amount_total = subtotal - off;
  session.total_details = { amount_discount: off, amount_shipping: 0, amount_tax: 0 };
}

/** Creates an open checkout session reachable at `/c/pay/<id>`. */
export function createCheckoutSession(
  state: StripeState,
  input: CheckoutInput,
): Stripe.Checkout.Session {
  // Stripe's shape: cs_test_b1... for subscription mode, cs_test_a1... otherwise.
  const id = `cs_${state.livemode ? "live" : "test"}_${
    input.mode === "subscription" ? "b1" : "a1"
  }${randomChars(56)}`;
  const created = state.now();
  const customer = input.customer ? state.customers.get(input.customer) : undefined;
  const email = customer && !customer.deleted ? customer.email : input.customerEmail;
  const prices = input.lineItems.map((item) => state.price(item.price));
  const discounts: Stripe.Checkout.Session.Discount[] = (input.discounts ?? []).map((entry) => ({
    coupon: entry.coupon ?? null,
    promotion_code: entry.promotionCode ?? null,
  }));
  const session = checkoutSessionObject({
    id,
    mode: input.mode,
    customer: input.customer,
    customerEmail: email ?? null,
    clientReferenceId: input.clientReferenceId,
    metadata: input.metadata,
    allowedPaymentMethodTypes: input.allowedPaymentMethodTypes,
    currency: prices[0]?.currency ?? null,
    amount: input.mode === "setup" ? null : 0,
    successUrl: input.successUrl,
    cancelUrl: input.cancelUrl,
    url: `${state.publicUrl()}/c/pay/${id}`,
    created,
    expiresAt: created + 24 * 60 * 60,
    livemode: state.livemode,
    allowPromotionCodes: input.allowPromotionCodes ?? null,
    automaticTax: input.automaticTax ?? false,
    paymentMethodCollection: input.mode === "subscription"
      ? input.paymentMethodCollection ?? "always"
      : input.paymentMethodCollection ?? null,
    discounts,
  });
  const record = {
    session,
    lineItems: input.lineItems,
    subscriptionMetadata: input.subscriptionMetadata,
    trialPeriodDays: input.trialPeriodDays,
    missingPaymentMethod: input.missingPaymentMethod ?? null,
    customerUpdate: input.customerUpdate ?? {},
  };
  priceSession(state, record, !input.trialPeriodDays);
  state.checkouts.set(id, record);
  return session;
}

/** Whether a session can complete without a card: it collects one only if required, and nothing is due. */
export function cardOptional(state: StripeState, sessionId: string, trialDays?: number): boolean {
  const record = state.checkout(sessionId);
  const trial = trialDays ?? record.trialPeriodDays ?? 0;
  return record.session.payment_method_collection === "if_required" &&
    (trial > 0 || record.session.amount_total === 0);
}

/**
 * Completes an open session as Stripe does when it is paid, and returns its subscription (null
 * outside subscription mode).
 */
export function completeCheckout(
  state: StripeState,
  sessionId: string,
  options: CompleteCheckoutOptions = {},
): Stripe.Subscription | null {
  const record = state.checkout(sessionId);
  const session = record.session;
  if (session.status !== "open") {
    throw new StripeApiError(400, {
      type: "invalid_request_error",
      code: "checkout_session_not_open",
      message: `This Checkout Session is ${session.status ?? "not open"} and can no longer be paid`,
    });
  }
  if (options.promotionCode !== undefined && options.promotionCode.trim() !== "") {
    if (!session.allow_promotion_codes) {
      throw new StripeApiError(400, {
        type: "invalid_request_error",
        message: "This Checkout Session does not accept promotion codes.",
      });
    }
    const promotion = promotionCodeByCode(state, options.promotionCode);
    if (!promotion) {
      throw new StripeApiError(400, {
        type: "invalid_request_error",
        code: "promotion_code_invalid",
        message: "This code is invalid.",
      });
    }
    session.discounts = [{ coupon: null, promotion_code: promotion.id }];
  }
  const trialDays = options.trialDays ?? record.trialPeriodDays ?? 0;
  priceSession(state, record, trialDays === 0);
  const withCard = options.card ?? !cardOptional(state, sessionId, trialDays);

  let customer = session.customer
    ? state.liveCustomer(String(session.customer), "customer")
    : undefined;
  if (!customer && session.mode !== "payment") {
    customer = createCustomer(state, {
      email: session.customer_details?.email ?? session.customer_email,
      name: options.name ?? null,
      description: null,
      phone: null,
      metadata: {},
    });
  } else if (customer) {
    const update = record.customerUpdate ?? {};
    customer = updateCustomer(state, customer.id, (target) => {
      if (update.address === "auto" || update.shipping === "auto") target.address = TEST_ADDRESS;
      if (update.name === "auto" && options.name) target.name = options.name;
    });
  }

  let subscription: Stripe.Subscription | null = null;
  let invoice: Stripe.Invoice | null = null;
  if (session.mode === "subscription" && customer) {
    const discount = sessionDiscount(state, session);
    const discountId = discount ? newId("di", 24) : null;
    subscription = createSubscription(state, {
      customer: customer.id,
      lineItems: record.lineItems,
      metadata: record.subscriptionMetadata,
      trialDays,
      missingPaymentMethod: record.missingPaymentMethod,
      automaticTax: session.automatic_tax.enabled,
      paymentMethod: withCard ? newPaymentMethodId() : null,
      discounts: discountId ? [discountId] : [],
    });
    if (discount && discountId) {
      state.discounts.set(
        discountId,
        discountObject({
          id: discountId,
          coupon: discount.coupon.id,
          promotionCode: discount.promotionCode?.id ?? null,
          customer: customer.id,
          subscription: subscription.id,
          checkoutSession: session.id,
          start: state.now(),
        }),
      );
      discount.coupon.times_redeemed += 1;
      if (discount.promotionCode) discount.promotionCode.times_redeemed += 1;
    }
    invoice = newInvoice(state, subscription, "subscription_create", trialDays === 0, {
      start: state.now(),
      end: state.now(),
    });
    state.emit("customer.subscription.created", subscription);
    state.emit("invoice.created", invoice);
    finalize(state, invoice);
    pay(state, invoice);
  }
  session.status = "complete";
  session.payment_status = session.mode === "setup" || (invoice && invoice.amount_due === 0)
    ? "no_payment_required"
    : "paid";
  session.customer = customer?.id ?? session.customer;
  session.subscription = subscription?.id ?? null;
  session.invoice = invoice?.id ?? null;
  session.url = null;
  if (session.automatic_tax.enabled) session.automatic_tax.status = "complete";
  session.customer_details = {
    address: customer?.address ?? null,
    business_name: null,
    email: customer?.email ?? session.customer_details?.email ?? null,
    individual_name: null,
    name: customer?.name ?? null,
    phone: null,
    tax_exempt: "none",
    tax_ids: [],
  };
  state.emit("checkout.session.completed", session);
  return subscription;
}

/** Expires an open session (`checkout.session.expired`). */
export function expireCheckout(state: StripeState, sessionId: string): Stripe.Checkout.Session {
  const session = state.checkout(sessionId).session;
  if (session.status !== "open") {
    throw new StripeApiError(400, {
      type: "invalid_request_error",
      message:
        `Only Checkout Sessions with a status in ["open"] can be expired. This Checkout Session has a status of "${session.status}".`,
    });
  }
  session.status = "expired";
  session.url = null;
  state.emit("checkout.session.expired", session);
  return session;
}
