/**
 * The emulator's in-memory Stripe account: its objects, its clock, and the events its changes
 * make. The changes Stripe performs live in one module each (customers, catalog, checkout,
 * subscriptions, billing, entitlements, clock); this is the store they share.
 */
import type { Stripe } from "../../supabase/functions/_shared/stripe.ts";
import { captureFeatures, refreshEntitlements } from "./entitlements.ts";
import { resourceMissing } from "./errors.ts";
import { newId, snapshot } from "./objects.ts";
import { API_VERSION } from "./version.ts";

/** The API request behind a change, for `event.request`. */
export interface EventRequest {
  id: string | null;
  idempotencyKey: string | null;
}

/** Which customer fields Checkout saves from what the person typed. */
export interface CustomerUpdate {
  address?: "auto" | "never";
  name?: "auto" | "never";
  shipping?: "auto" | "never";
}

/** What a checkout session asks for, beyond its wire object. */
export interface CheckoutRecord {
  session: Stripe.Checkout.Session;
  lineItems: { price: string; quantity: number }[];
  subscriptionMetadata: Record<string, string>;
  trialPeriodDays: number | null;
  /** `subscription_data.trial_settings.end_behavior.missing_payment_method`, when given. */
  missingPaymentMethod?: Stripe.Subscription.TrialSettings.EndBehavior.MissingPaymentMethod | null;
  customerUpdate?: CustomerUpdate;
}

/** A registered webhook endpoint and its signing secret (shown once, at creation). */
export interface WebhookEndpointRecord {
  endpoint: Stripe.WebhookEndpoint;
  secret: string;
}

/** Any object an event can carry. */
type EventObject = Stripe.Event.Data.Object;

/** The account's contents as plain data. */
export interface StateSnapshot {
  customers: [string, Stripe.Customer | Stripe.DeletedCustomer][];
  products: [string, Stripe.Product][];
  prices: [string, Stripe.Price][];
  features?: [string, Stripe.Entitlements.Feature][];
  productFeatures?: [string, Stripe.ProductFeature[]][];
  coupons?: [string, Stripe.Coupon][];
  promotionCodes?: [string, Stripe.PromotionCode][];
  discounts?: [string, Stripe.Discount][];
  checkouts: [string, CheckoutRecord][];
  portalSessions: [string, Stripe.BillingPortal.Session][];
  subscriptions: [string, Stripe.Subscription][];
  invoices: [string, Stripe.Invoice][];
  webhookEndpoints?: [string, WebhookEndpointRecord][];
  events: Stripe.Event[];
  failingSubscriptions: string[];
  trialNotices?: string[];
  grantedFeatures?: [string, string[]][];
  activeEntitlements?: [string, [string, string][]][];
  invoiceCount: number;
  clockOffset?: number;
}

/** What a {@link StripeState} is built with. */
export interface StateOptions {
  /** The wall clock, in seconds since the epoch; the account's clock runs ahead of it by the offset. */
  now: () => number;
  /** The base URL of the pages, for session and invoice URLs. */
  publicUrl: () => string;
  /** Whether objects are live-mode objects (a `sk_live_` key). Default false. */
  livemode?: boolean;
  /** Called with each new event, after it is recorded. */
  onEvent?: (event: Stripe.Event) => void;
  /** How many endpoints an event of this type will be sent to (its `pending_webhooks`). */
  pendingWebhooks?: (type: string) => number;
  /** Puts the seeded objects in place, at start and after every reset. */
  seed?: (state: StripeState) => void;
}

/** The account's objects, its clock, and its events. */
export class StripeState {
  readonly customers = new Map<string, Stripe.Customer | Stripe.DeletedCustomer>();
  readonly products = new Map<string, Stripe.Product>();
  readonly prices = new Map<string, Stripe.Price>();
  readonly features = new Map<string, Stripe.Entitlements.Feature>();
  /** Per product id: the features attached to it. */
  readonly productFeatures = new Map<string, Stripe.ProductFeature[]>();
  readonly coupons = new Map<string, Stripe.Coupon>();
  readonly promotionCodes = new Map<string, Stripe.PromotionCode>();
  readonly discounts = new Map<string, Stripe.Discount>();
  readonly checkouts = new Map<string, CheckoutRecord>();
  readonly portalSessions = new Map<string, Stripe.BillingPortal.Session>();
  readonly subscriptions = new Map<string, Stripe.Subscription>();
  readonly invoices = new Map<string, Stripe.Invoice>();
  readonly webhookEndpoints = new Map<string, WebhookEndpointRecord>();
  readonly events: Stripe.Event[] = [];
  /** Subscriptions whose next payment will fail. */
  readonly failingSubscriptions = new Set<string>();
  /** Subscriptions whose `customer.subscription.trial_will_end` was sent for this trial. */
  readonly trialNotices = new Set<string>();
  /** Per subscription: the feature ids its products granted when its current period began. */
  readonly grantedFeatures = new Map<string, string[]>();
  /** Per customer: the active entitlement id of each feature, as last summarized. */
  readonly activeEntitlements = new Map<string, Map<string, string>>();
  readonly publicUrl: () => string;
  readonly livemode: boolean;
  readonly #wallClock: () => number;
  readonly #onEvent: (event: Stripe.Event) => void;
  readonly #pendingWebhooks: (type: string) => number;
  readonly #seed: (state: StripeState) => void;
  readonly #eventsById = new Map<string, Stripe.Event>();
  readonly #subscriptionsByCustomer = new Map<string, string[]>();
  #request: EventRequest = { id: null, idempotencyKey: null };
  #invoiceCount = 0;
  #clockOffset = 0;
  #silent = 0;

  constructor(options: StateOptions) {
    this.#wallClock = options.now;
    this.publicUrl = options.publicUrl;
    this.livemode = options.livemode ?? false;
    this.#onEvent = options.onEvent ?? (() => {});
    this.#pendingWebhooks = options.pendingWebhooks ?? (() => 0);
    this.#seed = options.seed ?? (() => {});
    this.#seed(this);
  }

  // ---- clock ---------------------------------------------------------------------------------

  /** The account's time: the wall clock plus how far the clock was advanced. */
  now(): number {
    return this.#wallClock() + this.#clockOffset;
  }

  /** How far the account's clock runs ahead of the wall clock, in seconds. */
  get clockOffset(): number {
    return this.#clockOffset;
  }

  /** Moves the account's clock forward to `time` (never back). */
  moveClockTo(time: number): void {
    this.#clockOffset += Math.max(0, time - this.now());
  }

  /** The next invoice number of the account. */
  nextInvoiceNumber(): number {
    this.#invoiceCount += 1;
    return this.#invoiceCount;
  }

  // ---- events --------------------------------------------------------------------------------

  /** Runs `change` with events attributed to the given API request. */
  withRequest<T>(request: EventRequest, change: () => T): T {
    const previous = this.#request;
    this.#request = request;
    try {
      return change();
    } finally {
      this.#request = previous;
    }
  }

  /**
   * Runs `change` without recording or sending any event, as an edit by hand in the Dashboard
   * would look to an endpoint that was not listening. Derived state (entitlements) still follows.
   */
  silently<T>(change: () => T): T {
    this.#silent += 1;
    try {
      return change();
    } finally {
      this.#silent -= 1;
    }
  }

  /**
   * Records an event with a snapshot of the object after the change, and sends it. A change to
   * a subscription is followed by the customer's entitlement summary when that changed.
   */
  emit(
    type: Stripe.Event.Type,
    object: EventObject,
    previousAttributes?: Record<string, unknown>,
  ): void {
    if (this.#silent === 0) {
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
      this.#eventsById.set(event.id, event);
      this.#onEvent(event);
    }
    if (type.startsWith("customer.subscription.")) {
      const customer = (object as Stripe.Subscription).customer;
      refreshEntitlements(this, typeof customer === "string" ? customer : customer.id);
    }
  }

  /** Applies `change` to an object and emits `type` with the top-level fields it changed. */
  update<T extends EventObject>(
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

  /** The product, or 404 (400 with `param`). */
  product(id: string, param?: string): Stripe.Product {
    const product = this.products.get(id);
    if (!product) throw resourceMissing("product", id, param ?? "id", param ? 400 : 404);
    return product;
  }

  /** The price, or 404 (400 with `param`). */
  price(id: string, param?: string): Stripe.Price {
    const price = this.prices.get(id);
    if (!price) throw resourceMissing("price", id, param ?? "id", param ? 400 : 404);
    return price;
  }

  /** The feature, or 404 (400 with `param`). */
  feature(id: string, param?: string): Stripe.Entitlements.Feature {
    const feature = this.features.get(id);
    if (!feature) {
      throw resourceMissing("entitlements.feature", id, param ?? "id", param ? 400 : 404);
    }
    return feature;
  }

  /** The checkout session record, or 404. */
  checkout(id: string): CheckoutRecord {
    const record = this.checkouts.get(id);
    if (!record) throw resourceMissing("checkout.session", id);
    return record;
  }

  /** The subscription, or 404 (400 with `param`). */
  subscription(id: string, param?: string): Stripe.Subscription {
    const subscription = this.subscriptions.get(id);
    if (!subscription) {
      throw resourceMissing("subscription", id, param ?? "id", param ? 400 : 404);
    }
    return subscription;
  }

  /** Adds a new subscription to the account. */
  addSubscription(subscription: Stripe.Subscription): void {
    this.subscriptions.set(subscription.id, subscription);
    const customer = String(subscription.customer);
    const ids = this.#subscriptionsByCustomer.get(customer) ?? [];
    ids.push(subscription.id);
    this.#subscriptionsByCustomer.set(customer, ids);
  }

  /** A customer's subscriptions, oldest first. */
  subscriptionsOf(customerId: string): Stripe.Subscription[] {
    return (this.#subscriptionsByCustomer.get(customerId) ?? []).flatMap((id) => {
      const subscription = this.subscriptions.get(id);
      return subscription ? [subscription] : [];
    });
  }

  /** The invoice, or 404. */
  invoice(id: string): Stripe.Invoice {
    const invoice = this.invoices.get(id);
    if (!invoice) throw resourceMissing("invoice", id);
    return invoice;
  }

  /** The event, or 404. */
  event(id: string): Stripe.Event {
    const event = this.#eventsById.get(id);
    if (!event) throw resourceMissing("event", id);
    return event;
  }

  /** The webhook endpoint record, or 404. */
  webhookEndpoint(id: string): WebhookEndpointRecord {
    const record = this.webhookEndpoints.get(id);
    if (!record) throw resourceMissing("webhook_endpoint", id);
    return record;
  }

  /** Any object by id, for `expand[]`; undefined for ids the emulator does not hold. */
  lookup(id: string): EventObject | Stripe.DeletedCustomer | undefined {
    return this.customers.get(id) ?? this.prices.get(id) ?? this.products.get(id) ??
      this.features.get(id) ?? this.coupons.get(id) ?? this.promotionCodes.get(id) ??
      this.discounts.get(id) ?? this.checkouts.get(id)?.session ?? this.portalSessions.get(id) ??
      this.subscriptions.get(id) ?? this.invoices.get(id);
  }

  /** The name of a product, for pages and invoice lines. */
  productName(productId: string): string {
    return this.products.get(productId)?.name ?? productId;
  }

  // ---- whole account -------------------------------------------------------------------------

  /** Forgets every object and event, turns the clock back, then seeds again. */
  clear(): void {
    for (
      const map of [
        this.customers,
        this.products,
        this.prices,
        this.features,
        this.productFeatures,
        this.coupons,
        this.promotionCodes,
        this.discounts,
        this.checkouts,
        this.portalSessions,
        this.subscriptions,
        this.invoices,
        this.webhookEndpoints,
        this.grantedFeatures,
        this.activeEntitlements,
        this.#eventsById,
        this.#subscriptionsByCustomer,
      ]
    ) map.clear();
    this.events.length = 0;
    this.failingSubscriptions.clear();
    this.trialNotices.clear();
    this.#invoiceCount = 0;
    this.#clockOffset = 0;
    this.#seed(this);
  }

  /** Everything the account holds, as JSON-ready data (for a local server's restarts). */
  toSnapshot(): StateSnapshot {
    return {
      customers: [...this.customers.entries()],
      products: [...this.products.entries()],
      prices: [...this.prices.entries()],
      features: [...this.features.entries()],
      productFeatures: [...this.productFeatures.entries()],
      coupons: [...this.coupons.entries()],
      promotionCodes: [...this.promotionCodes.entries()],
      discounts: [...this.discounts.entries()],
      checkouts: [...this.checkouts.entries()],
      portalSessions: [...this.portalSessions.entries()],
      subscriptions: [...this.subscriptions.entries()],
      invoices: [...this.invoices.entries()],
      webhookEndpoints: [...this.webhookEndpoints.entries()],
      events: this.events,
      failingSubscriptions: [...this.failingSubscriptions],
      trialNotices: [...this.trialNotices],
      grantedFeatures: [...this.grantedFeatures.entries()],
      activeEntitlements: [...this.activeEntitlements.entries()].map((
        [customer, features],
      ) => [customer, [...features.entries()]]),
      invoiceCount: this.#invoiceCount,
      clockOffset: this.#clockOffset,
    };
  }

  /**
   * Replaces the account's contents with a snapshot taken by {@link toSnapshot}. A snapshot
   * from an older emulator keeps the seeded objects it does not mention.
   */
  restore(saved: StateSnapshot): void {
    this.clear();
    const fill = <V>(map: Map<string, V>, entries: [string, V][] | undefined) => {
      for (const [id, value] of entries ?? []) map.set(id, value);
    };
    fill(this.customers, saved.customers);
    fill(this.products, saved.products);
    fill(this.prices, saved.prices);
    fill(this.features, saved.features);
    fill(this.productFeatures, saved.productFeatures);
    fill(this.coupons, saved.coupons);
    fill(this.promotionCodes, saved.promotionCodes);
    fill(this.discounts, saved.discounts);
    fill(this.checkouts, saved.checkouts);
    fill(this.portalSessions, saved.portalSessions);
    for (const [, subscription] of saved.subscriptions) this.addSubscription(subscription);
    fill(this.invoices, saved.invoices);
    fill(this.webhookEndpoints, saved.webhookEndpoints);
    fill(this.grantedFeatures, saved.grantedFeatures);
    for (const [customer, features] of saved.activeEntitlements ?? []) {
      this.activeEntitlements.set(customer, new Map(features));
    }
    for (const event of saved.events) {
      this.events.push(event);
      this.#eventsById.set(event.id, event);
    }
    for (const id of saved.failingSubscriptions) this.failingSubscriptions.add(id);
    for (const id of saved.trialNotices ?? []) this.trialNotices.add(id);
    this.#invoiceCount = saved.invoiceCount;
    this.#clockOffset = saved.clockOffset ?? 0;
    // A snapshot from before entitlements: what its subscriptions grant, as of now, silently.
    this.silently(() => {
      for (const subscription of this.subscriptions.values()) {
        if (!this.grantedFeatures.has(subscription.id)) captureFeatures(this, subscription);
      }
      for (const customer of this.#subscriptionsByCustomer.keys()) {
        refreshEntitlements(this, customer);
      }
    });
  }
}
