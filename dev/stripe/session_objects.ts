/** Builders for checkout and billing portal sessions, in API 2026-10-28.endive's shape. */
import type { Stripe } from "../../supabase/functions/_shared/stripe.ts";

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
  livemode: boolean;
  allowPromotionCodes: boolean | null;
  automaticTax: boolean;
  paymentMethodCollection: Stripe.Checkout.Session.PaymentMethodCollection | null;
  discounts: Stripe.Checkout.Session.Discount[];
}

/** An open checkout session. */
export function checkoutSessionObject(fields: CheckoutSessionFields): Stripe.Checkout.Session {
  return {
    id: fields.id,
    object: "checkout.session",
    adaptive_pricing: { enabled: false },
    after_expiration: null,
    allow_promotion_codes: fields.allowPromotionCodes,
    allowed_payment_method_types: fields.allowedPaymentMethodTypes,
    amount_subtotal: fields.amount,
    amount_total: fields.amount,
    automatic_tax: fields.automaticTax
      ? {
        enabled: true,
        liability: { type: "self" },
        provider: "stripe",
        status: "requires_location_inputs",
      }
      : { enabled: false, liability: null, provider: null, status: null },
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
    discounts: fields.discounts,
    expires_at: fields.expiresAt,
    integration_identifier: null,
    invoice: null,
    invoice_creation: null,
    livemode: fields.livemode,
    locale: null,
    managed_payments: null,
    metadata: fields.metadata,
    mode: fields.mode,
    origin_context: null,
    payment_intent: null,
    payment_link: null,
    payment_method_collection: fields.paymentMethodCollection,
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

/** A billing portal session, with the flow it deep-links into (null for the home page). */
export function portalSessionObject(fields: {
  id: string;
  customer: string;
  returnUrl: string | null;
  url: string;
  created: number;
  livemode: boolean;
  configuration: string;
  flow: Stripe.BillingPortal.Session.Flow | null;
}): Stripe.BillingPortal.Session {
  return {
    id: fields.id,
    object: "billing_portal.session",
    configuration: fields.configuration,
    created: fields.created,
    customer: fields.customer,
    customer_account: null,
    flow: fields.flow,
    livemode: fields.livemode,
    locale: null,
    on_behalf_of: null,
    return_url: fields.returnUrl,
    url: fields.url,
  };
}
