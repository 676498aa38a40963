/** stripe-checkout: opens a Stripe Checkout session for the signed-in user's subscription. */
import { type Authenticate, type AuthenticatedUser, createAuthenticator } from "../_shared/auth.ts";
import { type EnvReader, loadConfig } from "../_shared/config.ts";
import {
  connectDatabase,
  type Database,
  findBillingProfile,
  saveCustomerId,
} from "../_shared/db.ts";
import {
  createHttpHandler,
  type Handler,
  HttpError,
  type HttpHandlerOptions,
  jsonResponse,
} from "../_shared/http.ts";
import { createLogger, type Logger } from "../_shared/log.ts";
import {
  createStripe,
  isMissingCustomer,
  type Stripe,
  withoutCallerStack,
} from "../_shared/stripe.ts";
import { isLive } from "../_shared/subscription.ts";

/** What the checkout handler runs on. */
export interface CheckoutDeps {
  authenticate: Authenticate;
  stripe: Stripe;
  sql: Database;
  priceId: string;
  siteUrl: string;
  logger: Logger;
}

/** How the function's requests are named in the log, and what its own failures answer. */
export const CHECKOUT_HTTP: Omit<HttpHandlerOptions, "logger"> = { name: "stripe-checkout" };

/** Creates the `stripe-checkout` handler. */
export function createCheckoutHandler(deps: CheckoutDeps): Handler {
  const { stripe, sql } = deps;

  /**
   * Creates the user's customer. The idempotency key is derived from the user and the customer
   * it replaces, so concurrent first checkouts of one user get one and the same customer.
   */
  async function createCustomer(user: AuthenticatedUser, replacing: string | null) {
    const customer = await withoutCallerStack(() =>
      stripe.customers.create(
        { ...(user.email && { email: user.email }), metadata: { userId: user.id } },
        { idempotencyKey: `customer:${user.id}:${replacing ?? "first"}` },
      )
    );
    return customer.id;
  }

  function createSession(user: AuthenticatedUser, customerId: string) {
    return withoutCallerStack(() =>
      stripe.checkout.sessions.create({
        mode: "subscription",
        allowed_payment_method_types: ["card"],
        line_items: [{ price: deps.priceId, quantity: 1 }],
        customer: customerId,
        client_reference_id: user.id,
        metadata: { userId: user.id, ...(user.email && { email: user.email }) },
        subscription_data: { metadata: { userId: user.id } },
        success_url: `${deps.siteUrl}/dashboard?checkout=success&session_id={CHECKOUT_SESSION_ID}`,
        cancel_url: `${deps.siteUrl}/dashboard?checkout=canceled`,
      }, { idempotencyKey: `checkout:${user.id}:${crypto.randomUUID()}` })
    );
  }

  /**
   * Opens the session; for a new customer, stores it meanwhile (one round trip off the request's
   * path). Both finish before answering, so a failed session still leaves the customer stored.
   */
  async function openSession(user: AuthenticatedUser, customerId: string, isNew: boolean) {
    if (!isNew) return await createSession(user, customerId);
    const [session, saved] = await Promise.allSettled([
      createSession(user, customerId),
      saveCustomerId(sql, user.id, customerId),
    ]);
    if (session.status === "rejected") throw session.reason;
    if (saved.status === "rejected") throw saved.reason;
    return session.value;
  }

  return createHttpHandler(
    { ...CHECKOUT_HTTP, logger: deps.logger },
    async (request, context) => {
      const user = await deps.authenticate(request);
      context.log.userId = user.id;
      const profile = await findBillingProfile(sql, user.id);
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
    },
  );
}

/** Builds the handler from the environment, with real clients. */
export function checkoutHandlerFromEnv(env?: EnvReader): Handler {
  const config = loadConfig(
    ["stripeSecretKey", "stripePriceId", "siteUrl", "stripeApi", "identity", "databaseUrl"],
    env,
  );
  return createCheckoutHandler({
    authenticate: createAuthenticator(config.identity),
    stripe: createStripe({ secretKey: config.stripeSecretKey, api: config.stripeApi }),
    sql: connectDatabase(config.databaseUrl),
    priceId: config.stripePriceId,
    siteUrl: config.siteUrl,
    logger: createLogger(),
  });
}
