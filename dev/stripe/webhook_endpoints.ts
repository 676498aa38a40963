/**
 * Registered webhook endpoints, as the API manages them: each has its own signing secret
 * (shown once, at creation), the event types it wants (`*` for all), and a status.
 */
import type { Stripe } from "../../supabase/functions/_shared/stripe.ts";
import { newId, randomChars, snapshot } from "./objects.ts";
import type { StripeState, WebhookEndpointRecord } from "./state.ts";
import { API_VERSION } from "./version.ts";

/** What a new endpoint is made of. */
export interface EndpointInput {
  url: string;
  enabledEvents: string[];
  description: string | null;
  apiVersion: string | null;
  metadata: Record<string, string>;
}

/** The endpoint as the API shows it: with its secret only when asked (at creation). */
export function endpointView(
  record: WebhookEndpointRecord,
  withSecret = false,
): Stripe.WebhookEndpoint {
  const endpoint = snapshot(record.endpoint);
  return withSecret ? { ...endpoint, secret: record.secret } : endpoint;
}

/** Registers an endpoint and makes its signing secret. */
export function createWebhookEndpoint(
  state: StripeState,
  input: EndpointInput,
): WebhookEndpointRecord {
  const endpoint: Stripe.WebhookEndpoint = {
    id: newId("we", 24),
    object: "webhook_endpoint",
    api_version: input.apiVersion ?? API_VERSION,
    application: null,
    created: state.now(),
    description: input.description,
    enabled_events: input.enabledEvents,
    livemode: state.livemode,
    metadata: input.metadata,
    status: "enabled",
    url: input.url,
  };
  const record = { endpoint, secret: `whsec_${randomChars(32)}` };
  state.webhookEndpoints.set(endpoint.id, record);
  return record;
}

/** Changes to an endpoint the API allows. */
export interface EndpointChanges {
  url?: string;
  enabledEvents?: string[];
  description?: string | null;
  disabled?: boolean;
  metadata?: (current: Record<string, string>) => Record<string, string>;
}

/** Changes an endpoint; `disabled` stops its deliveries until it is enabled again. */
export function updateWebhookEndpoint(
  state: StripeState,
  id: string,
  changes: EndpointChanges,
): WebhookEndpointRecord {
  const record = state.webhookEndpoint(id);
  const endpoint = record.endpoint;
  if (changes.url !== undefined) endpoint.url = changes.url;
  if (changes.enabledEvents !== undefined) endpoint.enabled_events = changes.enabledEvents;
  if (changes.description !== undefined) endpoint.description = changes.description;
  if (changes.disabled !== undefined) endpoint.status = changes.disabled ? "disabled" : "enabled";
  if (changes.metadata) endpoint.metadata = changes.metadata(endpoint.metadata);
  return record;
}

/** Removes an endpoint; nothing more is sent to it. */
export function deleteWebhookEndpoint(
  state: StripeState,
  id: string,
): Stripe.DeletedWebhookEndpoint {
  state.webhookEndpoint(id);
  state.webhookEndpoints.delete(id);
  return { id, object: "webhook_endpoint", deleted: true };
}

/** The enabled endpoints that want events of this type. */
export function endpointsFor(state: StripeState, type: string): WebhookEndpointRecord[] {
  return [...state.webhookEndpoints.values()].filter(({ endpoint }) =>
    endpoint.status === "enabled" &&
    (endpoint.enabled_events.includes("*") || endpoint.enabled_events.includes(type))
  );
}
