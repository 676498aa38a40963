/**
 * stripe-checkout: opens a Stripe Checkout session for the signed-in user's subscription, of the
 * default plan or of the allowed one the body asks for (`{"price": "<price id or lookup key>"}`).
 */
import { type Authenticate, type AuthenticatedUser, createAuthenticator } from "../_shared/auth.ts";
import { loadConfig } from "../_shared/config.ts";
import {
  type CheckoutState,
  connectDatabase,
  type Database,
  findCheckoutState,
  saveCustomerId,
} from "../_shared/db.ts";
import { HttpError, jsonResponse, readOptions } from "../_shared/http.ts";
import type { Logger } from "../_shared/log.ts";
import {
  createPriceResolver,
  isAllowedPrice,
  isPriceId,
  type PlanSettings,
  planSettings,
  type PriceFacts,
} from "../_shared/plans.ts";
import type { EdgeFunction, Route } from "../_shared/serve.ts";
import { createStripe, isMissingCustomer, isRefusedEmail, type Stripe } from "../_shared/stripe.ts";
import { isLive } from "../_shared/subscription.ts";

/** What the checkout handler runs on. */
export interface CheckoutDeps {
  authenticate: Authenticate;
  stripe: Stripe;
  db: Database;
  /** The allowed plans, the default one, and the trial of a first subscription. */
  plans: PlanSettings;
  /** False: a trial needs no card, and the subscription is canceled if it ends without one. */
  trialRequireCard: boolean;
  allowPromotionCodes: boolean;
  automaticTax: boolean;
  siteUrl: string;
  logger: Logger;
}

/** A price reference a request may carry: longer ones are no price (Stripe's own limit). */
const MAX_PRICE_REFERENCE = 200;

/**
 * The price the body asks for: null for none (no body, `{}`, not JSON, `"price": null`), or
 * the reference; anything else that is no price reference at all is refused.
 */
function requestedPrice(options: Record<string, unknown>): string | null {
  const price = options.price;
  if (price === undefined || price === null) return null;
  if (typeof price !== "string" || price === "" || price.length > MAX_PRICE_REFERENCE) {
    throw new HttpError(400, "Unknown price");
  }
  return price;
}

/** The session parameters the settings add: the trial, promotion codes, automatic tax. */
function optionalParameters(deps: CheckoutDeps, trial: boolean) {
  const trialDays = trial ? deps.plans.trialDays : null;
  return {
    subscriptionData: trialDays === null ? {} : {
      trial_period_days: trialDays,
      ...(!deps.trialRequireCard && {
        trial_settings: { end_behavior: { missing_payment_method: "cancel" as const } },
      }),
    },
    session: {
      ...(trialDays !== null && !deps.trialRequireCard &&
        { payment_method_collection: "if_required" as const }),
      ...(deps.allowPromotionCodes && { allow_promotion_codes: true }),
      ...(deps.automaticTax && {
        automatic_tax: { enabled: true },
        customer_update: { address: "auto" as const, name: "auto" as const },
      }),
    },
  };
}

/** Creates the `stripe-checkout` route. */
export function createCheckoutRoute(deps: CheckoutDeps): Route {
  const { stripe, db, plans } = deps;
  const resolveAtStripe = createPriceResolver(stripe, plans);

  /**
   * The price id of an allowed reference: from the catalog table (read with the profile), else,
   * for a price id the settings name, as is (Stripe checks it), else from the allowed prices
   * resolved at Stripe (once per worker). A price that is not allowed, or cannot be bought
   * (archived, one-time), is an unknown price; the default one is our own misconfiguration.
   */
  async function choosePrice(
    reference: string,
    catalog: readonly PriceFacts[],
    isDefault: boolean,
  ): Promise<string> {
    const allowed = catalog.filter((price) => isAllowedPrice(plans, price));
    let price = allowed.find((p) => p.id === reference) ??
      allowed.find((p) => p.lookupKey === reference);
    if (price === undefined) {
      const named = plans.prices.includes(reference);
      if (named && isPriceId(reference)) return reference;
      // Stripe is asked only about what may be allowed: a lookup key the settings name, or a
      // price id while some allowed lookup key is missing from the catalog.
      const keyMissing = plans.prices.some((key) =>
        !isPriceId(key) && !allowed.some((p) => p.lookupKey === key)
      );
      if (named || (isPriceId(reference) && keyMissing)) price = await resolveAtStripe(reference);
    }
    if (price !== undefined && price.active && price.recurring) return price.id;
    if (isDefault) {
      throw new Error(
        `The default price "${reference}" cannot be bought: ${
          price === undefined ? "no such price" : "archived or not recurring"
        }`,
      );
    }
    throw new HttpError(400, "Unknown price");
  }

  /**
   * Creates the user's customer. The idempotency key is derived from the user and the customer
   * it replaces, so concurrent first checkouts of one user get one and the same customer. After
   * a customer deleted at Stripe (the profile then holds none, but had a subscription) the key
   * carries the profile's version instead, which the deletion changed. An email Stripe refuses
   * (Supabase Auth accepts some that Stripe does not) is left out: the user can still
   * subscribe, and Checkout asks them for an address Stripe takes.
   */
  async function createCustomer(user: AuthenticatedUser, replacing: string) {
    const key = `customer:${user.id}:${replacing}`;
    const metadata = { userId: user.id };
    if (user.email !== undefined) {
      try {
        const customer = await stripe.customers.create(
          { email: user.email, metadata },
          { idempotencyKey: key },
        );
        return customer.id;
      } catch (error) {
        if (!isRefusedEmail(error)) throw error;
      }
    }
    const customer = await stripe.customers.create(
      { metadata },
      { idempotencyKey: user.email === undefined ? key : `${key}:without-email` },
    );
    return customer.id;
  }

  /** What a session is made of besides its customer. */
  interface SessionPlan {
    priceId: string;
    trial: boolean;
  }

  function createSession(user: AuthenticatedUser, customerId: string, plan: SessionPlan) {
    const optional = optionalParameters(deps, plan.trial);
    return stripe.checkout.sessions.create({
      mode: "subscription",
      allowed_payment_method_types: ["card"],
      line_items: [{ price: plan.priceId, quantity: 1 }],
      customer: customerId,
      client_reference_id: user.id,
      metadata: { userId: user.id, ...(user.email && { email: user.email }) },
      subscription_data: { metadata: { userId: user.id }, ...optional.subscriptionData },
      success_url: `${deps.siteUrl}/dashboard?checkout=success&session_id={CHECKOUT_SESSION_ID}`,
      cancel_url: `${deps.siteUrl}/dashboard?checkout=canceled`,
      ...optional.session,
    }, { idempotencyKey: `checkout:${user.id}:${crypto.randomUUID()}` });
  }

  /**
   * Opens the session; for a new customer, stores it meanwhile (one round trip off the request's
   * path). Both finish before answering, so a failed session still leaves the customer stored.
   */
  async function openSession(
    user: AuthenticatedUser,
    customerId: string,
    isNew: boolean,
    plan: SessionPlan,
  ) {
    if (!isNew) return await createSession(user, customerId, plan);
    const [session, saved] = await Promise.allSettled([
      createSession(user, customerId, plan),
      saveCustomerId(db, user.id, customerId),
    ]);
    if (session.status === "rejected") throw session.reason;
    if (saved.status === "rejected") throw saved.reason;
    return session.value;
  }

  /** The first customer's key: "first", or after a deleted one, the profile's version. */
  function firstCustomerKey(state: CheckoutState): string {
    return state.hadSubscription ? `after:${state.version}` : "first";
  }

  return async (request, context) => {
    const user = await deps.authenticate(request);
    context.log.userId = user.id;
    const state = await findCheckoutState(db, user.id);
    if (state === undefined) throw new HttpError(401, "User not found");
    if (isLive(state.status)) throw new HttpError(400, "Already subscribed");

    // The body is read after the refusals that need none, and before any Stripe write.
    const requested = requestedPrice(await readOptions(request));
    const reference = requested ?? plans.defaultPrice;
    context.log.price = reference;
    const plan: SessionPlan = {
      priceId: await choosePrice(reference, state.catalog, requested === null),
      // A trial for a first subscription only, as our own data knows it.
      trial: plans.trialDays !== null && !state.hadSubscription,
    };

    const isNew = state.customerId === null;
    let customerId = state.customerId ?? await createCustomer(user, firstCustomerKey(state));
    let session: Stripe.Checkout.Session;
    try {
      session = await openSession(user, customerId, isNew, plan);
    } catch (error) {
      if (isNew || !isMissingCustomer(error)) throw error;
      context.log.replacedCustomer = customerId;
      customerId = await createCustomer(user, customerId);
      session = await openSession(user, customerId, true, plan);
    }
    context.log.customerId = customerId;
    context.log.sessionId = session.id;
    if (!session.url) throw new Error(`Checkout session "${session.id}" has no URL`);
    return jsonResponse({ url: session.url });
  };
}

/** The `stripe-checkout` function. */
export const checkoutFunction: EdgeFunction<CheckoutDeps> = {
  name: "stripe-checkout",
  route: createCheckoutRoute,
  depsFromEnv(env, logger) {
    const config = loadConfig(
      [
        "stripeSecretKey",
        "stripePriceId",
        "stripePriceIds",
        "trialDays",
        "trialRequireCard",
        "allowPromotionCodes",
        "automaticTax",
        "siteUrl",
        "stripeApi",
        "identity",
        "databaseUrl",
      ],
      env,
    );
    return {
      authenticate: createAuthenticator(config.identity),
      stripe: createStripe({ secretKey: config.stripeSecretKey, api: config.stripeApi }),
      db: connectDatabase(config.databaseUrl),
      plans: planSettings(config),
      trialRequireCard: config.trialRequireCard,
      allowPromotionCodes: config.allowPromotionCodes,
      automaticTax: config.automaticTax,
      siteUrl: config.siteUrl,
      logger,
    };
  },
};
