/**
 * The Stripe webhook endpoint of the project: `<project URL>/functions/v1/stripe-webhook`,
 * enabled, sending every event type the webhook handles. `--fix` creates it, or enables it and
 * adds the types it misses.
 */
import { HANDLED_EVENT_TYPES } from "../../supabase/functions/_shared/events.ts";
import { type Stripe, STRIPE_API_VERSION } from "../../supabase/functions/_shared/stripe.ts";
import { stripeMessage } from "./prices.ts";
import { type CheckResult, failed, passed } from "./report.ts";

/** The URL Stripe must send events to, for a project URL. */
export function webhookUrl(projectUrl: string): string {
  return `${projectUrl.replace(/\/+$/, "")}/functions/v1/stripe-webhook`;
}

/** A URL compared as Stripe would deliver to it: host in lower case, no trailing slash. */
function normalized(url: string): string {
  try {
    return new URL(url).href.replace(/\/+$/, "");
  } catch {
    return url;
  }
}

/** The handled event types that an endpoint does not send. */
export function missingEventTypes(enabledEvents: readonly string[]): string[] {
  if (enabledEvents.includes("*")) return [];
  return HANDLED_EVENT_TYPES.filter((type) => !enabledEvents.includes(type));
}

const FIX = "deno task doctor --fix";

async function createEndpoint(stripe: Stripe, url: string): Promise<CheckResult> {
  const endpoint = await stripe.webhookEndpoints.create({
    url,
    enabled_events: [...HANDLED_EVENT_TYPES],
    api_version: STRIPE_API_VERSION,
    description: "Supabase billing: stripe-webhook",
  });
  const created = passed(
    `Webhook endpoint ${endpoint.id} created: it sends the ${HANDLED_EVENT_TYPES.length} ` +
      `handled event types to ${url} (API version ${STRIPE_API_VERSION})`,
  );
  if (endpoint.secret === undefined) {
    return failed(
      `Webhook endpoint ${endpoint.id} was created, but Stripe showed no signing secret`,
      "roll its secret in the Dashboard (Developers, Webhooks) and set it: " +
        "supabase secrets set STRIPE_WEBHOOK_SECRET=whsec_...",
    );
  }
  return {
    ...created,
    reveal: [
      "Its signing secret, which Stripe shows only now; the webhook function needs it:",
      `supabase secrets set STRIPE_WEBHOOK_SECRET=${endpoint.secret}`,
      "(and the same in supabase/functions/.env, or your --env-file, for the next doctor run)",
    ],
  };
}

async function repairEndpoint(
  stripe: Stripe,
  endpoint: Stripe.WebhookEndpoint,
  missing: readonly string[],
): Promise<CheckResult> {
  const disabled = endpoint.status !== "enabled";
  // The endpoint's own types came from Stripe, so Stripe takes them back as they are.
  const enabledEvents = [
    ...endpoint.enabled_events,
    ...missing,
  ] as Stripe.WebhookEndpointUpdateParams.EnabledEvent[];
  await stripe.webhookEndpoints.update(endpoint.id, {
    ...(missing.length > 0 && { enabled_events: enabledEvents }),
    ...(disabled && { disabled: false }),
  });
  const done = [
    ...(disabled ? ["enabled it"] : []),
    ...(missing.length > 0 ? [`added ${missing.join(", ")}`] : []),
  ];
  return passed(`Webhook endpoint ${endpoint.id} for ${endpoint.url} fixed: ${done.join("; ")}`);
}

/** Checks (and with `fix`, creates or repairs) the project's webhook endpoint. */
export async function checkEndpoint(
  stripe: Stripe,
  projectUrl: string,
  fix: boolean,
): Promise<CheckResult> {
  const url = webhookUrl(projectUrl);
  try {
    const matching: Stripe.WebhookEndpoint[] = [];
    for await (const endpoint of stripe.webhookEndpoints.list({ limit: 100 })) {
      if (normalized(endpoint.url) === normalized(url)) matching.push(endpoint);
    }
    const [endpoint, ...others] = matching;
    if (endpoint === undefined) {
      if (fix) return await createEndpoint(stripe, url);
      return failed(
        `No Stripe webhook endpoint sends events to ${url}`,
        `${FIX} creates it and prints its signing secret`,
      );
    }
    if (others.length > 0) {
      return failed(
        `${matching.length} Stripe webhook endpoints send events to ${url} (${
          matching.map((e) => e.id).join(", ")
        }): each signs with its own secret, and STRIPE_WEBHOOK_SECRET holds one`,
        "delete all but one in the Dashboard (Developers, Webhooks)",
      );
    }
    const missing = missingEventTypes(endpoint.enabled_events);
    const disabled = endpoint.status !== "enabled";
    if (missing.length === 0 && !disabled) {
      const what = endpoint.enabled_events.includes("*")
        ? "every event type"
        : `the ${HANDLED_EVENT_TYPES.length} handled event types`;
      return passed(`Webhook endpoint ${endpoint.id} sends ${what} to ${url}`);
    }
    if (fix) return await repairEndpoint(stripe, endpoint, missing);
    const problems = [
      ...(disabled ? [`is ${endpoint.status}`] : []),
      ...(missing.length > 0 ? [`does not send ${missing.join(", ")}`] : []),
    ];
    return failed(
      `Webhook endpoint ${endpoint.id} for ${url} ${problems.join(", and ")}`,
      `${FIX} ${
        disabled && missing.length > 0
          ? "enables it and adds them"
          : disabled
          ? "enables it"
          : "adds them"
      }`,
    );
  } catch (error) {
    return failed(
      `Webhook endpoints could not be ${fix ? "read or changed" : "read"}: ${stripeMessage(error)}`,
      "a restricted key needs write access to webhook endpoints; or run the doctor again",
    );
  }
}
