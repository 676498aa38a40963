/** stripe-portal: opens the Stripe billing portal for the signed-in user's customer. */
import { type Authenticate, createAuthenticator } from "../_shared/auth.ts";
import { type EnvReader, loadConfig } from "../_shared/config.ts";
import { connectDatabase, type Database, findBillingProfile } from "../_shared/db.ts";
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

/** What the portal handler runs on. */
export interface PortalDeps {
  authenticate: Authenticate;
  stripe: Stripe;
  sql: Database;
  siteUrl: string;
  logger: Logger;
}

/** How the function's requests are named in the log, and what its own failures answer. */
export const PORTAL_HTTP: Omit<HttpHandlerOptions, "logger"> = { name: "stripe-portal" };

/** Creates the `stripe-portal` handler. */
export function createPortalHandler(deps: PortalDeps): Handler {
  return createHttpHandler(
    { ...PORTAL_HTTP, logger: deps.logger },
    async (request, context) => {
      const user = await deps.authenticate(request);
      context.log.userId = user.id;
      const profile = await findBillingProfile(deps.sql, user.id);
      if (profile === undefined) throw new HttpError(401, "User not found");
      const customerId = profile.customerId;
      if (customerId === null) throw new HttpError(400, "No active subscription");
      context.log.customerId = customerId;
      let session: Stripe.BillingPortal.Session;
      try {
        session = await withoutCallerStack(() =>
          deps.stripe.billingPortal.sessions.create(
            { customer: customerId, return_url: `${deps.siteUrl}/dashboard` },
            { idempotencyKey: `portal:${user.id}:${crypto.randomUUID()}` },
          )
        );
      } catch (error) {
        if (isMissingCustomer(error)) throw new HttpError(400, "No active subscription");
        throw error;
      }
      return jsonResponse({ url: session.url });
    },
  );
}

/** Builds the handler from the environment, with real clients. */
export function portalHandlerFromEnv(env?: EnvReader): Handler {
  const config = loadConfig(
    ["stripeSecretKey", "siteUrl", "stripeApi", "identity", "databaseUrl"],
    env,
  );
  return createPortalHandler({
    authenticate: createAuthenticator(config.identity),
    stripe: createStripe({ secretKey: config.stripeSecretKey, api: config.stripeApi }),
    sql: connectDatabase(config.databaseUrl),
    siteUrl: config.siteUrl,
    logger: createLogger(),
  });
}
