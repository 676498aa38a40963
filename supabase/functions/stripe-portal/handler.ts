/**
 * stripe-portal: opens the Stripe billing portal for the signed-in user's customer, at its home
 * page or deep-linked into one flow (`{"flow": "payment_method_update" | "subscription_cancel" |
 * "subscription_update"}`).
 */
import { type Authenticate, createAuthenticator } from "../_shared/auth.ts";
import { loadConfig } from "../_shared/config.ts";
import {
  type BillingProfile,
  connectDatabase,
  type Database,
  findBillingProfile,
} from "../_shared/db.ts";
import { HttpError, jsonResponse, readOptions } from "../_shared/http.ts";
import type { Logger } from "../_shared/log.ts";
import type { EdgeFunction, Route } from "../_shared/serve.ts";
import { createStripe, isMissingCustomer, Stripe } from "../_shared/stripe.ts";
import { isLive } from "../_shared/subscription.ts";

/** What the portal handler runs on. */
export interface PortalDeps {
  authenticate: Authenticate;
  stripe: Stripe;
  db: Database;
  siteUrl: string;
  logger: Logger;
}

/** The portal pages a request may deep-link into. */
export const PORTAL_FLOWS = [
  "payment_method_update",
  "subscription_cancel",
  "subscription_update",
] as const;

/** One of {@link PORTAL_FLOWS}. */
export type PortalFlow = typeof PORTAL_FLOWS[number];

/** The flow the body asks for: null for none (no body, `{}`, not JSON, `"flow": null`). */
function requestedFlow(options: Record<string, unknown>): PortalFlow | null {
  const flow = options.flow;
  if (flow === undefined || flow === null) return null;
  const known = PORTAL_FLOWS.find((name) => name === flow);
  if (known === undefined) throw new HttpError(400, "Unknown flow");
  return known;
}

/**
 * Stripe's `flow_data` for a flow: the user's live subscription for the two subscription flows,
 * and back to the app's dashboard when done.
 */
function flowData(
  flow: PortalFlow,
  profile: BillingProfile,
  returnUrl: string,
): Stripe.BillingPortal.SessionCreateParams.FlowData {
  const afterCompletion = { type: "redirect" as const, redirect: { return_url: returnUrl } };
  if (flow === "payment_method_update") return { type: flow, after_completion: afterCompletion };
  const subscription = profile.subscriptionId;
  if (subscription === null || !isLive(profile.status)) {
    throw new HttpError(400, "No active subscription");
  }
  if (flow === "subscription_cancel") {
    if (profile.cancelScheduled) throw new HttpError(400, "Subscription already set to cancel");
    return { type: flow, after_completion: afterCompletion, subscription_cancel: { subscription } };
  }
  return { type: flow, after_completion: afterCompletion, subscription_update: { subscription } };
}

/** Stripe's refusal of a flow's subscription (it ended since the profile last heard). */
function isRefusedFlow(error: unknown): boolean {
  return error instanceof Stripe.errors.StripeInvalidRequestError &&
    (error.param ?? "").startsWith("flow_data");
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
    // The body is read after the refusals that need none.
    const flow = requestedFlow(await readOptions(request));
    const returnUrl = `${deps.siteUrl}/dashboard`;
    if (flow !== null) context.log.flow = flow;
    const params: Stripe.BillingPortal.SessionCreateParams = {
      customer: customerId,
      return_url: returnUrl,
      ...(flow !== null && { flow_data: flowData(flow, profile, returnUrl) }),
    };
    let session: Stripe.BillingPortal.Session;
    try {
      session = await deps.stripe.billingPortal.sessions.create(params, {
        idempotencyKey: `portal:${user.id}:${crypto.randomUUID()}`,
      });
    } catch (error) {
      if (isMissingCustomer(error) || isRefusedFlow(error)) {
        throw new HttpError(400, "No active subscription");
      }
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
