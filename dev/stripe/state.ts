/** The emulator's in-memory Stripe account: objects, the changes Stripe makes to them, and events. */
import type { Stripe } from "../../supabase/functions/_shared/stripe.ts";
import {
  addInterval,
  checkoutSessionObject,
  type CustomerFields,
  customerObject,
  invoiceObject,
  newId,
  planObject,
  portalSessionObject,
  type PriceFields,
  priceObject,
  productObject,
  randomChars,
  snapshot,
  subscriptionItemObject,
  subscriptionObject,
} from "./objects.ts";
import { parameterInvalid, resourceMissing, StripeApiError } from "./errors.ts";
import { mergeMetadata } from "./params.ts";
import { API_VERSION } from "./version.ts";

/** Statuses of a subscription that is still running, as Stripe's portal shows it first. */
const LIVE_STATUSES: readonly string[] = ["active", "trialing", "past_due", "unpaid", "paused"];

/** The price seeded at start. */
export const DEFAULT_PRICE_ID = "price_local_pro";
/** The product of {@link DEFAULT_PRICE_ID}. */
const DEFAULT_PRODUCT_ID = "prod_local_pro";

/** The API request behind a change, for `event.request`. */
export interface RequestContext {
  id: string | null;
  idempotencyKey: string | null;
}

/** What a checkout session asks for, beyond its wire object. */
export interface CheckoutRecord {
  session: Stripe.Checkout.Session;
  lineItems: { price: string; quantity: number }[];
  subscriptionMetadata: Record<string, string>;
  trialPeriodDays: number | null;
}

/** Options of {@link StripeState.completeCheckout}. */
export interface CompleteCheckoutOptions {
  /** Start the subscription with a trial of this many days (no payment due). */
  trialDays?: number;
}

/** Options of a subscription renewal. */
export interface RenewOptions {
  /** The renewal payment fails: the invoice stays open and the subscription goes `past_due`. */
  fail?: boolean;
  /** The renewal payment needs the customer's authentication (3-D Secure). */
  requireAction?: boolean;
}

/** A created checkout session's inputs, already validated. */
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
}

/** Changes the API's `POST /v1/subscriptions/:id` may apply. */
export interface SubscriptionChanges {
  cancelAtPeriodEnd?: boolean;
  cancelAt?: number | null;
  pauseCollection?: {
    behavior: Stripe.Subscription.PauseCollection.Behavior;
    resumesAt: number | null;
  } | null;
  /** Stripe's metadata update: keys merge, null values delete, null clears. */
  metadata?: Record<string, string | null> | null;
  price?: string;
  quantity?: number;
  trialEndNow?: boolean;
}

type EventObject = Stripe.Event.Data.Object;

/** The account's contents as plain data. */
export interface StateSnapshot {
  customers: [string, Stripe.Customer | Stripe.DeletedCustomer][];
  products: [string, Stripe.Product][];
  prices: [string, Stripe.Price][];
  checkouts: [string, CheckoutRecord][];
  portalSessions: [string, Stripe.BillingPortal.Session][];
  subscriptions: [string, Stripe.Subscription][];
  invoices: [string, Stripe.Invoice][];
  events: Stripe.Event[];
  failingSubscriptions: string[];
  invoiceCount: number;
}

/** What a {@link StripeState} is built with. */
export interface StateOptions {
  /** The account's clock, in seconds since the epoch. */
  now: () => number;
  /** The base URL of the pages, for session and invoice URLs. */
  publicUrl: () => string;
  /** Whether objects are live-mode objects (a `sk_live_` key). Default false. */
  livemode?: boolean;
  /** Called with each new event, after it is recorded. */
  onEvent?: (event: Stripe.Event) => void;
  /** How many endpoints an event of this type will be sent to (its `pending_webhooks`). */
  pendingWebhooks?: (type: string) => number;
}

/** The account's objects and the operations Stripe performs on them. */
export class StripeState {
  readonly customers = new Map<string, Stripe.Customer | Stripe.DeletedCustomer>();
  readonly products = new Map<string, Stripe.Product>();
  readonly prices = new Map<string, Stripe.Price>();
  readonly checkouts = new Map<string, CheckoutRecord>();
  readonly portalSessions = new Map<string, Stripe.BillingPortal.Session>();
  readonly subscriptions = new Map<string, Stripe.Subscription>();
  readonly invoices = new Map<string, Stripe.Invoice>();
  readonly events: Stripe.Event[] = [];
  /** Subscriptions whose next payment will fail. */
  readonly failingSubscriptions = new Set<string>();
  #request: RequestContext = { id: null, idempotencyKey: null };
  #invoiceCount = 0;

  readonly now: () => number;
  readonly publicUrl: () => string;
  readonly livemode: boolean;
  readonly #onEvent: (event: Stripe.Event) => void;
  readonly #pendingWebhooks: (type: string) => number;

  constructor(options: StateOptions) {
    this.now = options.now;
    this.publicUrl = options.publicUrl;
    this.livemode = options.livemode ?? false;
    this.#onEvent = options.onEvent ?? (() => {});
    this.#pendingWebhooks = options.pendingWebhooks ?? (() => 0);
    this.seed();
  }

  /** Puts the default product and price in place. */
  seed(): void {
    const created = this.now();
    this.products.set(DEFAULT_PRODUCT_ID, productObject(DEFAULT_PRODUCT_ID, "Pro", created));
    this.prices.set(
      DEFAULT_PRICE_ID,
      priceObject({
        id: DEFAULT_PRICE_ID,
        product: DEFAULT_PRODUCT_ID,
        unitAmount: 1000,
        currency: "usd",
        recurring: { interval: "month", intervalCount: 1 },
        created,
      }),
    );
    const product = this.products.get(DEFAULT_PRODUCT_ID);
    if (product) product.default_price = DEFAULT_PRICE_ID;
  }

  /** Forgets every object and event, then seeds again. */
  clear(): void {
    this.customers.clear();
    this.products.clear();
    this.prices.clear();
    this.checkouts.clear();
    this.portalSessions.clear();
    this.subscriptions.clear();
    this.invoices.clear();
    this.events.length = 0;
    this.failingSubscriptions.clear();
    this.#invoiceCount = 0;
    this.seed();
  }

  /** Everything the account holds, as JSON-ready data (for a local server's restarts). */
  toSnapshot(): StateSnapshot {
    return {
      customers: [...this.customers.entries()],
      products: [...this.products.entries()],
      prices: [...this.prices.entries()],
      checkouts: [...this.checkouts.entries()],
      portalSessions: [...this.portalSessions.entries()],
      subscriptions: [...this.subscriptions.entries()],
      invoices: [...this.invoices.entries()],
      events: this.events,
      failingSubscriptions: [...this.failingSubscriptions],
      invoiceCount: this.#invoiceCount,
    };
  }

  /** Replaces the account's contents with a snapshot taken by {@link toSnapshot}. */
  restore(snapshot: StateSnapshot): void {
    this.clear();
    const fill = <V>(map: Map<string, V>, entries: [string, V][]) => {
      map.clear();
      for (const [id, value] of entries) map.set(id, value);
    };
    fill(this.customers, snapshot.customers);
    fill(this.products, snapshot.products);
    fill(this.prices, snapshot.prices);
    fill(this.checkouts, snapshot.checkouts);
    fill(this.portalSessions, snapshot.portalSessions);
    fill(this.subscriptions, snapshot.subscriptions);
    fill(this.invoices, snapshot.invoices);
    this.events.push(...snapshot.events);
    for (const id of snapshot.failingSubscriptions) this.failingSubscriptions.add(id);
    this.#invoiceCount = snapshot.invoiceCount;
  }

  /** Runs `change` with events attributed to the given API request. */
  withRequest<T>(request: RequestContext, change: () => T): T {
    const previous = this.#request;
    this.#request = request;
    try {
      return change();
    } finally {
      this.#request = previous;
    }
  }

  /** Records an event with a snapshot of the object after the change. */
  emit(
    type: Stripe.Event.Type,
    object: EventObject,
    previousAttributes?: Record<string, unknown>,
  ): Stripe.Event {
    const data: Stripe.Event.Data = { object: snapshot(object) };
    if (previousAttributes && Object.keys(previousAttributes).length > 0) {
      data.previous_attributes = snapshot(previousAttributes);
    }
    // One assertion: the union's type/object pairing is ours to keep right, not the compiler's.
    const event = {
      id: newId("evt", 24),
      object: "event",
      api_version: API_VERSION,
      created: this.now(),
      data,
      livemode: this.livemode,
      pending_webhooks: this.#pendingWebhooks(type),
      request: { id: this.#request.id, idempotency_key: this.#request.idempotencyKey },
      type,
    } as Stripe.Event;
    this.events.push(event);
    this.#onEvent(event);
    return event;
  }

  /** Applies `change` to an object and emits `type` with the top-level fields it changed. */
  #update<T extends EventObject>(
    type: Stripe.Event.Type,
    object: T,
    change: (object: T) => void,
  ): boolean {
    const before = snapshot(object) as Record<string, unknown>;
    change(object);
    const after = snapshot(object) as Record<string, unknown>;
    const previous: Record<string, unknown> = {};
    for (const key of Object.keys(after)) {
      if (JSON.stringify(before[key]) !== JSON.stringify(after[key])) {
        previous[key] = before[key] ?? null;
      }
    }
    if (Object.keys(previous).length === 0) return false;
    this.emit(type, object, previous);
    return true;
  }

  // ---- lookups -------------------------------------------------------------------------------

  /** The customer, or 404 (400 with `param` when referenced from another call). */
  customer(id: string, param?: string): Stripe.Customer | Stripe.DeletedCustomer {
    const customer = this.customers.get(id);
    if (!customer) throw resourceMissing("customer", id, param ?? "id", param ? 400 : 404);
    return customer;
  }

  /** A customer that is not deleted, for calls that need one. */
  liveCustomer(id: string, param: string): Stripe.Customer {
    const customer = this.customer(id, param);
    if (customer.deleted) throw resourceMissing("customer", id, param, 400);
    return customer;
  }

  /** The price, or 404 (400 with `param`). */
  price(id: string, param?: string): Stripe.Price {
    const price = this.prices.get(id);
    if (!price) throw resourceMissing("price", id, param ?? "id", param ? 400 : 404);
    return price;
  }

  /** The checkout session record, or 404. */
  checkout(id: string): CheckoutRecord {
    const record = this.checkouts.get(id);
    if (!record) throw resourceMissing("checkout.session", id);
    return record;
  }

  /** The subscription, or 404. */
  subscription(id: string): Stripe.Subscription {
    const subscription = this.subscriptions.get(id);
    if (!subscription) throw resourceMissing("subscription", id);
    return subscription;
  }

  /** The invoice, or 404. */
  invoice(id: string): Stripe.Invoice {
    const invoice = this.invoices.get(id);
    if (!invoice) throw resourceMissing("invoice", id);
    return invoice;
  }

  /** The event, or 404. */
  event(id: string): Stripe.Event {
    const event = this.events.find((candidate) => candidate.id === id);
    if (!event) throw resourceMissing("event", id);
    return event;
  }

  /** Any object by id, for `expand[]`; undefined for ids the emulator does not hold. */
  lookup(id: string): EventObject | Stripe.DeletedCustomer | undefined {
    return this.customers.get(id) ?? this.prices.get(id) ?? this.products.get(id) ??
      this.checkouts.get(id)?.session ?? this.portalSessions.get(id) ??
      this.subscriptions.get(id) ?? this.invoices.get(id);
  }

  /** The name of a product, for pages and invoice lines. */
  productName(productId: string): string {
    return this.products.get(productId)?.name ?? productId;
  }

  /** The live subscription of a customer, else its most recent one. */
  subscriptionOf(customerId: string): Stripe.Subscription | undefined {
    const all = [...this.subscriptions.values()].filter((sub) => sub.customer === customerId);
    return all.findLast((sub) => LIVE_STATUSES.includes(sub.status)) ?? all.at(-1);
  }

  // ---- customers, prices, sessions -----------------------------------------------------------

  /** Creates a customer (`customer.created`). */
  createCustomer(fields: Omit<CustomerFields, "id" | "created">): Stripe.Customer {
    const customer = customerObject({ ...fields, id: newId("cus"), created: this.now() });
    this.customers.set(customer.id, customer);
    this.emit("customer.created", customer);
    return customer;
  }

  /** Updates a customer (`customer.updated` when something changed). */
  updateCustomer(id: string, change: (customer: Stripe.Customer) => void): Stripe.Customer {
    const customer = this.customer(id);
    if (customer.deleted) {
      throw parameterInvalid("id", `No such customer: '${id}'`, "resource_missing");
    }
    this.#update("customer.updated", customer, change);
    return customer;
  }

  /** Deletes a customer, canceling its subscriptions first, as Stripe does. */
  deleteCustomer(id: string): Stripe.DeletedCustomer {
    const customer = this.customer(id);
    if (customer.deleted) throw resourceMissing("customer", id);
    for (const subscription of this.subscriptions.values()) {
      if (subscription.customer === id && subscription.status !== "canceled") {
        this.cancelNow(subscription.id);
      }
    }
    const deleted: Stripe.DeletedCustomer = { id, object: "customer", deleted: true };
    this.customers.set(id, deleted);
    this.emit("customer.deleted", customer);
    return deleted;
  }

  /** Creates a price, and its product when given by name (`product.created`, `price.created`). */
  createPrice(
    fields: Omit<PriceFields, "id" | "created" | "product"> & {
      product?: string;
      productName?: string;
    },
  ): Stripe.Price {
    const created = this.now();
    let productId = fields.product;
    if (productId === undefined) {
      const product = productObject(newId("prod"), fields.productName ?? "Product", created);
      this.products.set(product.id, product);
      this.emit("product.created", product);
      productId = product.id;
    } else if (!this.products.has(productId)) {
      throw resourceMissing("product", productId, "product", 400);
    }
    const price = priceObject({ ...fields, id: newId("price", 24), product: productId, created });
    this.prices.set(price.id, price);
    this.emit("price.created", price);
    return price;
  }

  /** Creates an open checkout session reachable at `/c/pay/<id>`. */
  createCheckoutSession(input: CheckoutInput): Stripe.Checkout.Session {
    // Stripe's shape: cs_test_b1... for subscription mode, cs_test_a1... otherwise.
    const id = `cs_test_${input.mode === "subscription" ? "b1" : "a1"}${randomChars(56)}`;
    const created = this.now();
    const customer = input.customer ? this.customers.get(input.customer) : undefined;
    const email = customer && !customer.deleted ? customer.email : input.customerEmail;
    const prices = input.lineItems.map((item) => this.price(item.price));
    const amount = input.mode === "setup" ? null : input.lineItems.reduce(
      (sum, item, index) => sum + (prices[index]?.unit_amount ?? 0) * item.quantity,
      0,
    );
    const session = checkoutSessionObject({
      id,
      mode: input.mode,
      customer: input.customer,
      customerEmail: email ?? null,
      clientReferenceId: input.clientReferenceId,
      metadata: input.metadata,
      allowedPaymentMethodTypes: input.allowedPaymentMethodTypes,
      currency: prices[0]?.currency ?? null,
      amount,
      successUrl: input.successUrl,
      cancelUrl: input.cancelUrl,
      url: `${this.publicUrl()}/c/pay/${id}`,
      created,
      expiresAt: created + 24 * 60 * 60,
    });
    this.checkouts.set(id, {
      session,
      lineItems: input.lineItems,
      subscriptionMetadata: input.subscriptionMetadata,
      trialPeriodDays: input.trialPeriodDays,
    });
    return session;
  }

  /** Creates a billing portal session reachable at `/p/session/<id>`. */
  createPortalSession(customer: string, returnUrl: string | null): Stripe.BillingPortal.Session {
    const id = newId("bps", 24);
    const session = portalSessionObject({
      id,
      customer,
      returnUrl,
      url: `${this.publicUrl()}/p/session/${id}`,
      created: this.now(),
    });
    this.portalSessions.set(id, session);
    this.emit("billing_portal.session.created", session);
    return session;
  }

  // ---- checkout ------------------------------------------------------------------------------

  /** Pays an open session the way Stripe does and returns its subscription (null outside subscription mode). */
  completeCheckout(
    sessionId: string,
    options: CompleteCheckoutOptions = {},
  ): Stripe.Subscription | null {
    const record = this.checkout(sessionId);
    const session = record.session;
    if (session.status !== "open") {
      throw new StripeApiError(400, {
        type: "invalid_request_error",
        code: "checkout_session_not_open",
        message: `This Checkout Session is ${
          session.status ?? "not open"
        } and can no longer be paid`,
      });
    }
    const now = this.now();
    let customer = session.customer
      ? this.liveCustomer(String(session.customer), "customer")
      : undefined;
    if (!customer && session.mode !== "payment") {
      customer = this.createCustomer({
        email: session.customer_details?.email ?? session.customer_email,
        name: null,
        description: null,
        phone: null,
        metadata: {},
      });
    }
    let subscription: Stripe.Subscription | null = null;
    let invoice: Stripe.Invoice | null = null;
    if (session.mode === "subscription" && customer) {
      const trialDays = options.trialDays ?? record.trialPeriodDays ?? 0;
      subscription = this.#createSubscription(customer, record, trialDays, now);
      invoice = this.#newInvoice(subscription, "subscription_create", trialDays === 0, {
        start: now,
        end: now,
      });
      this.emit("customer.subscription.created", subscription);
      this.emit("invoice.created", invoice);
      this.#finalize(invoice);
      this.#pay(invoice);
    }
    session.status = "complete";
    session.payment_status = session.mode === "setup" || (invoice && invoice.amount_due === 0)
      ? "no_payment_required"
      : "paid";
    session.customer = customer?.id ?? session.customer;
    session.subscription = subscription?.id ?? null;
    session.invoice = invoice?.id ?? null;
    session.url = null;
    session.customer_details = {
      address: null,
      business_name: null,
      email: customer?.email ?? session.customer_details?.email ?? null,
      individual_name: null,
      name: customer?.name ?? null,
      phone: null,
      tax_exempt: "none",
      tax_ids: [],
    };
    this.emit("checkout.session.completed", session);
    return subscription;
  }

  /** Expires an open session (`checkout.session.expired`). */
  expireCheckout(sessionId: string): Stripe.Checkout.Session {
    const session = this.checkout(sessionId).session;
    if (session.status !== "open") {
      throw new StripeApiError(400, {
        type: "invalid_request_error",
        message:
          `Only Checkout Sessions with a status in ["open"] can be expired. This Checkout Session has a status of "${session.status}".`,
      });
    }
    session.status = "expired";
    session.url = null;
    this.emit("checkout.session.expired", session);
    return session;
  }

  #createSubscription(
    customer: Stripe.Customer,
    record: CheckoutRecord,
    trialDays: number,
    now: number,
  ): Stripe.Subscription {
    const id = newId("sub", 24);
    const trialEnd = trialDays > 0 ? now + trialDays * 24 * 60 * 60 : null;
    const items = record.lineItems.map((line) => {
      const price = this.price(line.price);
      return subscriptionItemObject({
        id: newId("si"),
        subscription: id,
        price,
        quantity: line.quantity,
        periodStart: now,
        periodEnd: trialEnd ?? this.#periodEnd(price, now),
        created: now,
      });
    });
    const subscription = subscriptionObject({
      id,
      customer: customer.id,
      currency: items[0]?.price.currency ?? "usd",
      items,
      metadata: { ...record.subscriptionMetadata },
      status: trialEnd ? "trialing" : "active",
      trialStart: trialEnd ? now : null,
      trialEnd,
      created: now,
    });
    this.subscriptions.set(id, subscription);
    return subscription;
  }

  #periodEnd(price: Stripe.Price, start: number): number {
    return addInterval(
      start,
      price.recurring?.interval ?? "month",
      price.recurring?.interval_count ?? 1,
    );
  }

  // ---- invoices ------------------------------------------------------------------------------

  #newInvoice(
    subscription: Stripe.Subscription,
    billingReason: Stripe.Invoice.BillingReason,
    charged: boolean,
    period: { start: number; end: number },
  ): Stripe.Invoice {
    const customer = this.liveCustomer(String(subscription.customer), "customer");
    const invoice = invoiceObject({
      id: newId("in", 24),
      customer,
      subscription,
      billingReason,
      // An invoice's own period is the one before its lines' (Stripe bills usage in arrears).
      periodStart: period.start,
      periodEnd: period.end,
      charged,
      created: this.now(),
      productName: (productId) => this.productName(productId),
    });
    this.invoices.set(invoice.id, invoice);
    subscription.latest_invoice = invoice.id;
    return invoice;
  }

  #finalize(invoice: Stripe.Invoice): void {
    const customer = this.customers.get(String(invoice.customer));
    this.#invoiceCount += 1;
    const prefix = customer && !customer.deleted ? customer.invoice_prefix : "LOCAL";
    invoice.number = `${prefix}-${String(this.#invoiceCount).padStart(4, "0")}`;
    invoice.status = "open";
    invoice.effective_at = this.now();
    invoice.status_transitions.finalized_at = this.now();
    invoice.hosted_invoice_url = `${this.publicUrl()}/i/${invoice.id}`;
    this.emit("invoice.finalized", invoice);
  }

  #pay(invoice: Stripe.Invoice): void {
    invoice.attempted = true;
    invoice.attempt_count += 1;
    invoice.amount_paid = invoice.amount_due;
    invoice.amount_remaining = 0;
    invoice.status = "paid";
    invoice.status_transitions.paid_at = this.now();
    invoice.next_payment_attempt = null;
    this.emit("invoice.paid", invoice);
    this.emit("invoice.payment_succeeded", invoice);
  }

  #failPayment(invoice: Stripe.Invoice, requireAction: boolean): void {
    invoice.attempted = true;
    invoice.attempt_count += 1;
    invoice.next_payment_attempt = requireAction ? null : this.now() + 3 * 24 * 60 * 60;
    this.emit(
      requireAction ? "invoice.payment_action_required" : "invoice.payment_failed",
      invoice,
    );
  }

  /** The subscription's latest invoice when it is still open. */
  openInvoice(subscription: Stripe.Subscription): Stripe.Invoice | undefined {
    const id = subscription.latest_invoice;
    const invoice = typeof id === "string" ? this.invoices.get(id) : undefined;
    return invoice?.status === "open" ? invoice : undefined;
  }

  // ---- subscription changes ------------------------------------------------------------------

  #requireStatus(subscription: Stripe.Subscription, allowed: readonly string[], action: string) {
    if (!allowed.includes(subscription.status)) {
      throw new StripeApiError(400, {
        type: "invalid_request_error",
        message:
          `Cannot ${action} a subscription with status '${subscription.status}' (subscription '${subscription.id}')`,
      });
    }
  }

  #requireNotCanceled(subscription: Stripe.Subscription): void {
    if (subscription.status === "canceled" || subscription.status === "incomplete_expired") {
      throw new StripeApiError(400, {
        type: "invalid_request_error",
        code: "invalid_canceled_subscription_fields",
        message: "A canceled subscription can only update its cancellation_details and metadata.",
      });
    }
  }

  /** The end of the subscription's current period (its first item's). */
  periodEnd(subscription: Stripe.Subscription): number {
    return subscription.items.data[0]?.current_period_end ?? this.now();
  }

  /** Applies API-style changes in one `customer.subscription.updated`. */
  updateSubscription(id: string, changes: SubscriptionChanges): Stripe.Subscription {
    const subscription = this.subscription(id);
    const onlyMetadata = Object.keys(changes).every((key) => key === "metadata");
    if (!onlyMetadata) this.#requireNotCanceled(subscription);
    const price = changes.price === undefined ? undefined : this.price(changes.price, "items");
    if (price && !price.recurring) {
      throw parameterInvalid(
        "items[0][price]",
        "The price specified is set to `type=one_time` but this field only accepts prices with `type=recurring`.",
      );
    }
    let trialEnded = false;
    this.#update("customer.subscription.updated", subscription, (sub) => {
      const now = this.now();
      if (changes.metadata !== undefined) {
        sub.metadata = mergeMetadata(sub.metadata, changes.metadata);
      }
      if (changes.cancelAtPeriodEnd !== undefined) {
        sub.cancel_at_period_end = changes.cancelAtPeriodEnd;
        sub.cancel_at = changes.cancelAtPeriodEnd ? this.periodEnd(sub) : null;
        this.#markCancellation(sub, changes.cancelAtPeriodEnd, now);
      }
      if (changes.cancelAt !== undefined) {
        sub.cancel_at = changes.cancelAt;
        sub.cancel_at_period_end = changes.cancelAt !== null &&
          changes.cancelAt === this.periodEnd(sub);
        this.#markCancellation(sub, changes.cancelAt !== null, now);
      }
      if (changes.pauseCollection !== undefined) {
        sub.pause_collection = changes.pauseCollection === null ? null : {
          behavior: changes.pauseCollection.behavior,
          resumes_at: changes.pauseCollection.resumesAt,
        };
      }
      if (price || changes.quantity !== undefined) {
        for (const item of sub.items.data) {
          if (price) {
            item.price = price;
            item.plan = planObject(price);
          }
          if (changes.quantity !== undefined) item.quantity = changes.quantity;
        }
      }
      if (changes.trialEndNow && sub.status === "trialing") {
        this.#endTrialFields(sub, now);
        trialEnded = true;
      }
    });
    if (trialEnded) {
      const now = this.now();
      this.#billCycle(subscription, "subscription_update", {}, { start: now, end: now });
    }
    return subscription;
  }

  #markCancellation(sub: Stripe.Subscription, canceling: boolean, now: number): void {
    sub.canceled_at = canceling ? now : null;
    sub.cancellation_details = {
      comment: null,
      feedback: null,
      feedback_option: null,
      reason: canceling ? "cancellation_requested" : null,
    };
  }

  /** Turns the cancel-at-period-end flag on or off. */
  cancelAtPeriodEnd(id: string, enabled: boolean): Stripe.Subscription {
    return this.updateSubscription(id, { cancelAtPeriodEnd: enabled });
  }

  /** Schedules (or with null, unschedules) the cancellation at a time. */
  cancelAt(id: string, at: number | null): Stripe.Subscription {
    return this.updateSubscription(id, { cancelAt: at });
  }

  /** Cancels immediately (`customer.subscription.deleted`). */
  cancelNow(
    id: string,
    reason: Stripe.Subscription.CancellationDetails.Reason = "cancellation_requested",
  ): Stripe.Subscription {
    const subscription = this.subscription(id);
    this.#requireNotCanceled(subscription);
    const now = this.now();
    subscription.status = "canceled";
    subscription.ended_at = now;
    subscription.canceled_at = subscription.canceled_at ?? now;
    subscription.cancellation_details = {
      comment: null,
      feedback: null,
      feedback_option: null,
      reason,
    };
    this.failingSubscriptions.delete(id);
    this.emit("customer.subscription.deleted", subscription);
    return subscription;
  }

  /** Makes the next payment attempt of this subscription fail. */
  failNextPayment(id: string): Stripe.Subscription {
    const subscription = this.subscription(id);
    this.#requireNotCanceled(subscription);
    this.failingSubscriptions.add(id);
    return subscription;
  }

  /**
   * Advances to the next period and bills it: `customer.subscription.updated` (new period),
   * `invoice.created`, `invoice.finalized`, then `invoice.paid` + `invoice.payment_succeeded`,
   * or `invoice.payment_failed` (or `invoice.payment_action_required`) and
   * `customer.subscription.updated` to `past_due`. A subscription set to cancel at period end is
   * canceled instead (`customer.subscription.deleted`).
   */
  renew(id: string, options: RenewOptions = {}): Stripe.Subscription {
    const subscription = this.subscription(id);
    this.#requireStatus(subscription, ["active", "trialing", "past_due", "unpaid"], "renew");
    const end = this.periodEnd(subscription);
    const cancelAt = subscription.cancel_at;
    if (subscription.cancel_at_period_end || (cancelAt !== null && cancelAt <= end)) {
      return this.cancelNow(id);
    }
    const previousStart = subscription.items.data[0]?.current_period_start ?? end;
    this.#update("customer.subscription.updated", subscription, (sub) => {
      for (const item of sub.items.data) {
        item.current_period_start = item.current_period_end;
        item.current_period_end = this.#periodEnd(item.price, item.current_period_end);
      }
      if (sub.status === "trialing") sub.status = "active";
    });
    this.#billCycle(subscription, "subscription_cycle", options, { start: previousStart, end });
    return subscription;
  }

  /** Creates, finalizes and collects an invoice for the current period. */
  #billCycle(
    subscription: Stripe.Subscription,
    reason: Stripe.Invoice.BillingReason,
    options: RenewOptions,
    period: { start: number; end: number },
  ): void {
    const invoice = this.#newInvoice(subscription, reason, true, period);
    this.emit("invoice.created", invoice);
    const pause = subscription.pause_collection;
    if (pause) {
      if (pause.behavior === "void") {
        this.#finalize(invoice);
        invoice.status = "void";
        invoice.status_transitions.voided_at = this.now();
        invoice.amount_remaining = 0;
        this.emit("invoice.voided", invoice);
      } else if (pause.behavior === "mark_uncollectible") {
        this.#finalize(invoice);
        invoice.status = "uncollectible";
        invoice.status_transitions.marked_uncollectible_at = this.now();
        this.emit("invoice.marked_uncollectible", invoice);
      }
      return;
    }
    this.#finalize(invoice);
    const fail = options.fail === true || options.requireAction === true ||
      this.failingSubscriptions.has(subscription.id);
    this.failingSubscriptions.delete(subscription.id);
    if (!fail || invoice.amount_due === 0) {
      this.#pay(invoice);
      if (subscription.status === "past_due" || subscription.status === "unpaid") {
        this.#update("customer.subscription.updated", subscription, (sub) => {
          sub.status = "active";
        });
      }
      return;
    }
    this.#failPayment(invoice, options.requireAction === true);
    this.#update("customer.subscription.updated", subscription, (sub) => {
      sub.status = "past_due";
    });
  }

  /** Pays the open invoice: `invoice.paid`, `invoice.payment_succeeded`, back to `active`. */
  payOpenInvoice(id: string): Stripe.Subscription {
    const subscription = this.subscription(id);
    const invoice = this.openInvoice(subscription);
    if (!invoice) {
      throw new StripeApiError(400, {
        type: "invalid_request_error",
        code: "invoice_not_open",
        message: `Subscription '${id}' has no open invoice to pay`,
      });
    }
    this.failingSubscriptions.delete(id);
    this.#pay(invoice);
    this.#update("customer.subscription.updated", subscription, (sub) => {
      if (sub.status === "past_due" || sub.status === "unpaid") sub.status = "active";
    });
    return subscription;
  }

  /**
   * The payment needs the customer's authentication: `invoice.payment_action_required` for the
   * open invoice, or for a renewal when none is open.
   */
  requireAction(id: string): Stripe.Subscription {
    const subscription = this.subscription(id);
    const invoice = this.openInvoice(subscription);
    if (!invoice) return this.renew(id, { requireAction: true });
    this.#failPayment(invoice, true);
    return subscription;
  }

  /** Pauses the subscription: status `paused` (`customer.subscription.paused`, `.updated`). */
  pause(id: string): Stripe.Subscription {
    const subscription = this.subscription(id);
    this.#requireStatus(subscription, ["active", "trialing", "past_due", "unpaid"], "pause");
    const previous = { status: subscription.status, status_details: null };
    subscription.status = "paused";
    subscription.status_details = {
      paused: {
        subscription: { type: "pause_requested" },
        transitioned_at: this.now(),
        type: "subscription",
      },
    };
    this.emit("customer.subscription.paused", subscription);
    this.emit("customer.subscription.updated", subscription, previous);
    return subscription;
  }

  /** Resumes a paused subscription with a new period from now (`.resumed`, `.updated`). */
  resume(id: string): Stripe.Subscription {
    const subscription = this.subscription(id);
    this.#requireStatus(subscription, ["paused"], "resume");
    const previous = snapshot({
      status: subscription.status,
      status_details: subscription.status_details,
      items: subscription.items,
      billing_cycle_anchor: subscription.billing_cycle_anchor,
    });
    const now = this.now();
    subscription.status = "active";
    delete subscription.status_details;
    subscription.billing_cycle_anchor = now;
    for (const item of subscription.items.data) {
      item.current_period_start = now;
      item.current_period_end = this.#periodEnd(item.price, now);
    }
    this.emit("customer.subscription.resumed", subscription);
    this.emit("customer.subscription.updated", subscription, previous);
    return subscription;
  }

  /** Moves every item to another price (`customer.subscription.updated`). */
  changePrice(id: string, priceId: string): Stripe.Subscription {
    return this.updateSubscription(id, { price: priceId });
  }

  #endTrialFields(sub: Stripe.Subscription, now: number): void {
    sub.status = "active";
    sub.trial_end = now;
    sub.billing_cycle_anchor = now;
    for (const item of sub.items.data) {
      item.current_period_start = now;
      item.current_period_end = this.#periodEnd(item.price, now);
    }
  }

  /** Ends a trial now and bills the first period (`customer.subscription.updated`, invoice events). */
  endTrial(id: string): Stripe.Subscription {
    const subscription = this.subscription(id);
    this.#requireStatus(subscription, ["trialing"], "end the trial of");
    return this.updateSubscription(id, { trialEndNow: true });
  }

  /** Stripe's three-days-before notice (`customer.subscription.trial_will_end`). */
  trialWillEnd(id: string): Stripe.Subscription {
    const subscription = this.subscription(id);
    this.#requireStatus(subscription, ["trialing"], "announce the trial end of");
    this.emit("customer.subscription.trial_will_end", subscription);
    return subscription;
  }

  /** A pending update was applied (`customer.subscription.pending_update_applied`). */
  pendingUpdateApplied(id: string): Stripe.Subscription {
    const subscription = this.subscription(id);
    const previous = {
      pending_update: {
        billing_cycle_anchor: null,
        cancel_at_period_end: null,
        discount: null,
        discounts: null,
        expires_at: this.now() + 23 * 60 * 60,
        metadata: null,
        subscription_items: snapshot(subscription.items.data),
        trial_end: null,
        trial_from_plan: null,
      },
    };
    subscription.pending_update = null;
    this.emit("customer.subscription.pending_update_applied", subscription, previous);
    return subscription;
  }

  /** A pending update expired unpaid (`customer.subscription.pending_update_expired`). */
  pendingUpdateExpired(id: string): Stripe.Subscription {
    const subscription = this.subscription(id);
    subscription.pending_update = null;
    this.emit("customer.subscription.pending_update_expired", subscription);
    return subscription;
  }
}
