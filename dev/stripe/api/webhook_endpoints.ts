/** `/v1/webhook_endpoints`: register, list, retrieve, update, delete. */
import { parameterInvalid, parameterMissing } from "../errors.ts";
import type { ParamObject } from "../form.ts";
import {
  mergeMetadata,
  optionalArray,
  optionalBoolean,
  optionalMetadata,
  optionalString,
  rejectUnknown,
  requiredString,
  requireUrl,
} from "../params.ts";
import {
  createWebhookEndpoint,
  deleteWebhookEndpoint,
  endpointView,
  updateWebhookEndpoint,
} from "../webhook_endpoints.ts";
import { paginate, PAGINATION } from "./lists.ts";
import { idAt, type Routes } from "./routes.ts";

/** An event type (`customer.subscription.updated`) or `*`. */
const EVENT_TYPE = /^(\*|[a-z_]+(\.[a-z_]+)+)$/;

function readEnabledEvents(params: ParamObject): string[] | undefined {
  const events = optionalArray(params, "enabled_events");
  if (events === undefined) return undefined;
  if (events.length === 0) throw parameterMissing("enabled_events");
  return events.map((event, index) => {
    if (typeof event !== "string" || !EVENT_TYPE.test(event)) {
      throw parameterInvalid(
        `enabled_events[${index}]`,
        `Invalid enabled_events[${index}]: ${JSON.stringify(event)} is not an event type`,
      );
    }
    return event;
  });
}

/** Webhook endpoints' routes. */
export const WEBHOOK_ENDPOINT_ROUTES: Routes = {
  "POST webhook_endpoints": (state, params) => {
    rejectUnknown(params, [
      "api_version",
      "connect",
      "description",
      "enabled_events",
      "expand",
      "metadata",
      "url",
    ]);
    const url = requireUrl(requiredString(params, "url"), "url");
    const enabledEvents = readEnabledEvents(params);
    if (enabledEvents === undefined) throw parameterMissing("enabled_events");
    const record = createWebhookEndpoint(state, {
      url,
      enabledEvents,
      description: optionalString(params, "description") || null,
      apiVersion: optionalString(params, "api_version") || null,
      metadata: mergeMetadata({}, optionalMetadata(params)),
    });
    return endpointView(record, true);
  },
  "GET webhook_endpoints/:id": (state, params, ids) => {
    rejectUnknown(params, ["expand"]);
    return endpointView(state.webhookEndpoint(idAt(ids)));
  },
  "POST webhook_endpoints/:id": (state, params, ids) => {
    rejectUnknown(params, [
      "description",
      "disabled",
      "enabled_events",
      "expand",
      "metadata",
      "url",
    ]);
    const url = optionalString(params, "url");
    if (url !== undefined) requireUrl(requiredString(params, "url"), "url");
    const metadata = optionalMetadata(params);
    const merged = mergeMetadata(state.webhookEndpoint(idAt(ids)).endpoint.metadata, metadata);
    const record = updateWebhookEndpoint(state, idAt(ids), {
      url,
      enabledEvents: readEnabledEvents(params),
      description: params.description === undefined
        ? undefined
        : optionalString(params, "description") || null,
      disabled: optionalBoolean(params, "disabled"),
      metadata: metadata === undefined ? undefined : () => merged,
    });
    return endpointView(record);
  },
  "DELETE webhook_endpoints/:id": (state, params, ids) => {
    rejectUnknown(params, []);
    return deleteWebhookEndpoint(state, idAt(ids));
  },
  "GET webhook_endpoints": (state, params) => {
    rejectUnknown(params, PAGINATION);
    return paginate(
      [...state.webhookEndpoints.values()].map((record) => endpointView(record)),
      () => true,
      params,
      "/v1/webhook_endpoints",
    );
  },
};
