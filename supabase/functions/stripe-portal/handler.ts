/** stripe-portal: opens the Stripe billing portal for the signed-in user's customer. */
import { type Authenticate, createAuthenticator } from "../_shared/auth.ts";
import { loadConfig } from "../_shared/config.ts";
import { connectDatabase, type Database, findBillingProfile } from "../_shared/db.ts";
import { HttpError, jsonResponse } from "../_shared/http.ts";
import type { Logger } from "../_shared/log.ts";
import type { EdgeFunction, Route } from "../_shared/serve.ts";
import { createStripe, isMissingCustomer, type Stripe } from "../_shared/stripe.ts";

/** What the portal handler runs on. */
export interface PortalDeps {
  authenticate: Authenticate;
  stripe: Stripe;
  db: Database;
  siteUrl: string;
  logger: Logger;
}

/** Creates the `stripe-portal` route. */
export function createPortalRoute(deps: PortalDeps): Route {
  return async (request, context) => {
    const user = await deps.authenticate(request);
    context.log.userId = user.id;
    const profile = await findBillingProfile(deps.db, user.id);
    if (profile === undefined) throw new HttpError(401, "User not found");
    const customerId = profile.customerId;
    if (customerId === null) throw new HttpError(400, "No active subscription");
    context.log.customerId = customerId;
    let session: Stripe.BillingPortal.Session;
    try {
      session = await deps.stripe.billingPortal.sessions.create(
        { customer: customerId, return_url: `${deps.siteUrl}/dashboard` },
        { idempotencyKey: `portal:${user.id}:${crypto.randomUUID()}` },
      );
    } catch (error) {
      if (isMissingCustomer(error)) throw new HttpError(400, "No active subscription");
      throw error;
    }
    return jsonResponse({ url: session.url });
  };
}

/** The `stripe-portal` function. */
export const portalFunction: EdgeFunction<PortalDeps> = {
  name: "stripe-portal",
  route: createPortalRoute,
  depsFromEnv(env, logger) {
    const config = loadConfig(
      ["stripeSecretKey", "siteUrl", "stripeApi", "identity", "databaseUrl"],
      env,
    );
    return {
      authenticate: createAuthenticator(config.identity),
      stripe: createStripe({ secretKey: config.stripeSecretKey, api: config.stripeApi }),
      db: connectDatabase(config.databaseUrl),
      siteUrl: config.siteUrl,
      logger,
    };
  },
};
