/** stripe-webhook: verifies Stripe's signature, then applies the event to the database once. */
import { loadConfig } from "../_shared/config.ts";
import { applyEvent } from "../_shared/apply.ts";
import { connectDatabase, type Database } from "../_shared/db.ts";
import { HttpError, jsonResponse, readBodyText } from "../_shared/http.ts";
import type { Logger } from "../_shared/log.ts";
import { type PlanSettings, planSettings } from "../_shared/plans.ts";
import type { EdgeFunction, Route } from "../_shared/serve.ts";
import { createStripe, Stripe, verifyWebhook } from "../_shared/stripe.ts";

/** The largest webhook body accepted. */
export const MAX_BODY_BYTES = 1024 * 1024;

/** What the webhook handler runs on. */
export interface WebhookDeps {
  stripe: Stripe;
  db: Database;
  webhookSecret: string;
  /** The allowed plans: their price and product events refresh the catalog. */
  plans: PlanSettings;
  logger: Logger;
}

/** A signed body is Stripe's, but its shape is still checked before anything reads into it. */
function isEventShaped(event: unknown): event is Stripe.Event {
  if (typeof event !== "object" || event === null) return false;
  const { id, type, data } = event as Record<string, unknown>;
  return typeof id === "string" && id !== "" && typeof type === "string" &&
    typeof data === "object" && data !== null && "object" in data &&
    typeof data.object === "object" && data.object !== null;
}

/** Creates the `stripe-webhook` route. */
export function createWebhookRoute(deps: WebhookDeps): Route {
  return async (request, context) => {
    const signature = request.headers.get("stripe-signature");
    const payload = await readBodyText(request, MAX_BODY_BYTES);
    if (signature === null || signature === "") throw new HttpError(400, "Invalid signature");
    let event: unknown;
    try {
      event = await verifyWebhook(deps.stripe, payload, signature, deps.webhookSecret);
    } catch (error) {
      if (error instanceof Stripe.errors.StripeSignatureVerificationError) {
        throw new HttpError(400, "Invalid signature");
      }
      throw new HttpError(400, "Invalid payload");
    }
    if (!isEventShaped(event)) throw new HttpError(400, "Invalid payload");
    context.log.eventId = event.id;
    context.log.eventType = event.type;
    context.log.eventOutcome = await applyEvent(event, deps);
    return jsonResponse({ received: true });
  };
}

/** The `stripe-webhook` function. */
export const webhookFunction: EdgeFunction<WebhookDeps> = {
  name: "stripe-webhook",
  failureMessage: "Webhook handler failed",
  route: createWebhookRoute,
  depsFromEnv(env, logger) {
    const config = loadConfig(
      [
        "stripeSecretKey",
        "stripeWebhookSecret",
        "stripeApi",
        "databaseUrl",
        "stripePriceId",
        "stripePriceIds",
        "trialDays",
      ],
      env,
    );
    return {
      stripe: createStripe({ secretKey: config.stripeSecretKey, api: config.stripeApi }),
      db: connectDatabase(config.databaseUrl),
      webhookSecret: config.stripeWebhookSecret,
      plans: planSettings(config),
      logger,
    };
  },
};
