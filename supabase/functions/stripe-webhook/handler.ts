/** stripe-webhook: verifies Stripe's signature, then applies the event to the profile once. */
import { type EnvReader, loadConfig } from "../_shared/config.ts";
import {
  applyEventOnce,
  type ApplyOutcome,
  connectDatabase,
  type Database,
} from "../_shared/db.ts";
import {
  createHttpHandler,
  type Handler,
  HttpError,
  type HttpHandlerOptions,
  jsonResponse,
  readBodyText,
} from "../_shared/http.ts";
import { createLogger, type Logger } from "../_shared/log.ts";
import { createStripe, Stripe, verifyWebhook, withoutCallerStack } from "../_shared/stripe.ts";
import { toProfileUpdate } from "../_shared/subscription.ts";
import { HANDLED_EVENT_TYPES, subscriptionOf } from "./events.ts";

/** The largest webhook body accepted. */
export const MAX_BODY_BYTES = 1024 * 1024;

/** What the webhook handler runs on. */
export interface WebhookDeps {
  stripe: Stripe;
  sql: Database;
  webhookSecret: string;
  logger: Logger;
}

/** How an event ended: applied to the database, or acknowledged without a change. */
export type EventOutcome = ApplyOutcome | "ignored" | "unhandled";

/**
 * Applies one verified event. The subscription is re-read from Stripe under a lock, so whatever
 * order, duplication or concurrency events arrive in, the profile ends at Stripe's current state.
 */
export function processEvent(
  event: Stripe.Event,
  deps: Pick<WebhookDeps, "stripe" | "sql">,
): Promise<EventOutcome> {
  const ref = subscriptionOf(event);
  if (ref === null) {
    const handled = HANDLED_EVENT_TYPES.some((type) => type === event.type);
    return Promise.resolve(handled ? "ignored" : "unhandled");
  }
  return applyEventOnce(deps.sql, event, ref.subscriptionId, async () => {
    const subscription = await withoutCallerStack(() =>
      deps.stripe.subscriptions.retrieve(ref.subscriptionId)
    );
    const update = toProfileUpdate(subscription);
    return { ...update, userId: update.userId ?? ref.userId };
  });
}

/** A signed body is Stripe's, but its shape is still checked before anything reads into it. */
function isEventShaped(event: unknown): event is Stripe.Event {
  if (typeof event !== "object" || event === null) return false;
  const { id, type, data } = event as Record<string, unknown>;
  return typeof id === "string" && id !== "" && typeof type === "string" &&
    typeof data === "object" && data !== null && "object" in data &&
    typeof data.object === "object" && data.object !== null;
}

/** How the function's requests are named in the log, and what its own failures answer. */
export const WEBHOOK_HTTP: Omit<HttpHandlerOptions, "logger"> = {
  name: "stripe-webhook",
  failureMessage: "Webhook handler failed",
};

/** Creates the `stripe-webhook` handler. */
export function createWebhookHandler(deps: WebhookDeps): Handler {
  return createHttpHandler(
    { ...WEBHOOK_HTTP, logger: deps.logger },
    async (request, context) => {
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
      const outcome = await processEvent(event, deps);
      context.log.eventOutcome = outcome;
      return jsonResponse({ received: true });
    },
  );
}

/** Builds the handler from the environment, with real clients. */
export function webhookHandlerFromEnv(env?: EnvReader): Handler {
  const config = loadConfig(
    ["stripeSecretKey", "stripeWebhookSecret", "stripeApi", "databaseUrl"],
    env,
  );
  return createWebhookHandler({
    stripe: createStripe({ secretKey: config.stripeSecretKey, api: config.stripeApi }),
    sql: connectDatabase(config.databaseUrl),
    webhookSecret: config.stripeWebhookSecret,
    logger: createLogger(),
  });
}
