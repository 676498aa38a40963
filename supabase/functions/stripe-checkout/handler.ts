/** stripe-checkout: opens a Stripe Checkout session for the signed-in user's subscription. */
import { type Authenticate, type AuthenticatedUser, createAuthenticator } from "../_shared/auth.ts";
import { loadConfig } from "../_shared/config.ts";
import {
  connectDatabase,
  type Database,
  findBillingProfile,
  saveCustomerId,
} from "../_shared/db.ts";
import { HttpError, jsonResponse } from "../_shared/http.ts";
import type { Logger } from "../_shared/log.ts";
import type { EdgeFunction, Route } from "../_shared/serve.ts";
import { createStripe, isMissingCustomer, isRefusedEmail, type Stripe } from "../_shared/stripe.ts";
import { isLive } from "../_shared/subscription.ts";

/** What the checkout handler runs on. */
export interface CheckoutDeps {
  authenticate: Authenticate;
  stripe: Stripe;
  db: Database;
  priceId: string;
  siteUrl: string;
  logger: Logger;
}

/** Creates the `stripe-checkout` route. */
export function createCheckoutRoute(deps: CheckoutDeps): Route {
  const { stripe, db } = deps;

  /**
   * Creates the user's customer. The idempotency key is derived from the user and the customer
   * it replaces, so concurrent first checkouts of one user get one and the same customer. An
   * email Stripe refuses (Supabase Auth accepts some that Stripe does not) is left out: the user
   * can still subscribe, and Checkout asks them for an address Stripe takes.
   */
  async function createCustomer(user: AuthenticatedUser, replacing: string | null) {
    const key = `customer:${user.id}:${replacing ?? "first"}`;
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

  function createSession(user: AuthenticatedUser, customerId: string) {
    return stripe.checkout.sessions.create({
      mode: "subscription",
      allowed_payment_method_types: ["card"],
      line_items: [{ price: deps.priceId, quantity: 1 }],
      customer: customerId,
      client_reference_id: user.id,
      metadata: { userId: user.id, ...(user.email && { email: user.email }) },
      subscription_data: { metadata: { userId: user.id } },
      success_url: `${deps.siteUrl}/dashboard?checkout=success&session_id={CHECKOUT_SESSION_ID}`,
      cancel_url: `${deps.siteUrl}/dashboard?checkout=canceled`,
    }, { idempotencyKey: `checkout:${user.id}:${crypto.randomUUID()}` });
  }

  /**
   * Opens the session; for a new customer, stores it meanwhile (one round trip off the request's
   * path). Both finish before answering, so a failed session still leaves the customer stored.
   */
  async function openSession(user: AuthenticatedUser, customerId: string, isNew: boolean) {
    if (!isNew) return await createSession(user, customerId);
    const [session, saved] = await Promise.allSettled([
      createSession(user, customerId),
      saveCustomerId(db, user.id, customerId),
    ]);
    if (session.status === "rejected") throw session.reason;
    if (saved.status === "rejected") throw saved.reason;
    return session.value;
  }

  return async (request, context) => {
    const user = await deps.authenticate(request);
    context.log.userId = user.id;
    const profile = await findBillingProfile(db, user.id);
    if (profile === undefined) throw new HttpError(401, "User not found");
    if (isLive(profile.status)) throw new HttpError(400, "Already subscribed");

    const isNew = profile.customerId === null;
    let customerId = profile.customerId ?? await createCustomer(user, null);
    let session: Stripe.Checkout.Session;
    try {
      session = await openSession(user, customerId, isNew);
    } catch (error) {
      if (isNew || !isMissingCustomer(error)) throw error;
      context.log.replacedCustomer = customerId;
      customerId = await createCustomer(user, customerId);
      session = await openSession(user, customerId, true);
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
      ["stripeSecretKey", "stripePriceId", "siteUrl", "stripeApi", "identity", "databaseUrl"],
      env,
    );
    return {
      authenticate: createAuthenticator(config.identity),
      stripe: createStripe({ secretKey: config.stripeSecretKey, api: config.stripeApi }),
      db: connectDatabase(config.databaseUrl),
      priceId: config.stripePriceId,
      siteUrl: config.siteUrl,
      logger,
    };
  },
};
