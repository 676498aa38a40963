/**
 * Bulk seeding: many customers with a subscription each, made directly in the account (no
 * checkout, no invoices) for benchmarks that need thousands. Silent by default, as if they had
 * been there before anyone listened; with `events` each gets `customer.created` and
 * `customer.subscription.created` (and its entitlement summary).
 */
import type { Stripe } from "../../supabase/functions/_shared/stripe.ts";
import { newPaymentMethodId } from "./billing.ts";
import { DEFAULT_PRICE_ID } from "./catalog.ts";
import { customerObject, newId } from "./objects.ts";
import type { StripeState } from "./state.ts";
import { createSubscription } from "./subscriptions.ts";

/** One customer to seed. */
export interface SeedCustomer {
  email?: string | null;
  name?: string | null;
  metadata?: Record<string, string>;
  /** The subscription's metadata. */
  subscriptionMetadata?: Record<string, string>;
  price?: string;
  status?: Stripe.Subscription.Status;
  trialDays?: number;
}

/** What to seed: `count` alike customers, or the given ones, with defaults for each. */
export interface SeedOptions {
  count?: number;
  customers?: readonly SeedCustomer[];
  /** Default price (default: the default plan). */
  price?: string;
  /** Default status (default `active`, or `trialing` with trial days). */
  status?: Stripe.Subscription.Status;
  trialDays?: number;
  /** Record and send the events of each creation. Default false. */
  events?: boolean;
}

/** The ids seeded, in order. */
export interface SeedResult {
  customers: string[];
  subscriptions: string[];
}

const STATUSES: readonly Stripe.Subscription.Status[] = [
  "active",
  "canceled",
  "incomplete",
  "incomplete_expired",
  "past_due",
  "paused",
  "trialing",
  "unpaid",
];

/** Seeds customers and subscriptions; refuses an unknown price or status before making any. */
export function seed(state: StripeState, options: SeedOptions): SeedResult {
  const wanted = options.customers ??
    Array.from({ length: options.count ?? 0 }, (): SeedCustomer => ({}));
  for (const entry of wanted) {
    state.price(entry.price ?? options.price ?? DEFAULT_PRICE_ID, "price");
    const status = entry.status ?? options.status;
    if (status !== undefined && !STATUSES.includes(status)) {
      throw new RangeError(`Unknown subscription status "${status}"`);
    }
  }
  const result: SeedResult = { customers: [], subscriptions: [] };
  const make = () => {
    wanted.forEach((entry, index) => {
      const customer = customerObject({
        id: newId("cus"),
        email: entry.email === undefined ? `seeded-${index + 1}@example.com` : entry.email,
        name: entry.name ?? null,
        description: null,
        phone: null,
        metadata: entry.metadata ?? {},
        created: state.now(),
        livemode: state.livemode,
      });
      state.customers.set(customer.id, customer);
      state.emit("customer.created", customer);
      const trialDays = entry.trialDays ?? options.trialDays ?? 0;
      const subscription = createSubscription(state, {
        customer: customer.id,
        lineItems: [{ price: entry.price ?? options.price ?? DEFAULT_PRICE_ID, quantity: 1 }],
        metadata: entry.subscriptionMetadata ?? {},
        trialDays,
        status: entry.status ?? options.status,
        paymentMethod: newPaymentMethodId(),
      });
      if (subscription.status === "canceled") {
        subscription.ended_at = subscription.created;
        subscription.canceled_at = subscription.created;
      }
      state.emit("customer.subscription.created", subscription);
      result.customers.push(customer.id);
      result.subscriptions.push(subscription.id);
    });
  };
  if (options.events) make();
  else state.silently(make);
  return result;
}
