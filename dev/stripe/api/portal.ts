/** `/v1/billing_portal/sessions`: a portal session, maybe deep-linked by `flow_data`. */
import { parameterInvalid, parameterMissing, StripeApiError } from "../errors.ts";
import type { ParamObject } from "../form.ts";
import {
  optionalObject,
  optionalString,
  rejectUnknown,
  requiredString,
  requireUrl,
} from "../params.ts";
import {
  type AfterCompletion,
  createPortalSession,
  type FlowInput,
  PORTAL_CONFIGURATION_ID,
  PORTAL_FLOWS,
  type PortalFlow,
} from "../portal.ts";
import type { StripeState } from "../state.ts";
import type { Routes } from "./routes.ts";
import { isEnded } from "../billing_objects.ts";

const PORTAL_CREATE = [
  "configuration",
  "customer",
  "customer_account",
  "expand",
  "flow_data",
  "locale",
  "on_behalf_of",
  "return_url",
];
/** Every flow type Stripe knows; the emulator serves {@link PORTAL_FLOWS}. */
const FLOW_TYPES = [
  "customer_update",
  "payment_method_update",
  "subscription_cancel",
  "subscription_pause",
  "subscription_update",
  "subscription_update_confirm",
];
const AFTER_COMPLETION_TYPES = ["hosted_confirmation", "portal_homepage", "redirect"];

function readAfterCompletion(flow: ParamObject): AfterCompletion {
  const prefix = ["flow_data", "after_completion"];
  const after = optionalObject(flow, "after_completion", ["flow_data"]);
  if (!after) return { type: "portal_homepage" };
  rejectUnknown(after, ["type", "redirect", "hosted_confirmation"], prefix);
  const type = requiredString(after, "type", prefix);
  if (!AFTER_COMPLETION_TYPES.includes(type)) {
    throw parameterInvalid(
      "flow_data[after_completion][type]",
      "Invalid flow_data[after_completion][type]: must be one of hosted_confirmation, portal_homepage, or redirect",
    );
  }
  if (type === "redirect") {
    const redirect = optionalObject(after, "redirect", prefix);
    if (!redirect) throw parameterMissing("flow_data[after_completion][redirect]");
    rejectUnknown(redirect, ["return_url"], [...prefix, "redirect"]);
    const returnUrl = requiredString(redirect, "return_url", [...prefix, "redirect"]);
    requireUrl(returnUrl, "flow_data[after_completion][redirect][return_url]");
    return { type, returnUrl };
  }
  if (type === "hosted_confirmation") {
    const confirmation = optionalObject(after, "hosted_confirmation", prefix);
    const message = confirmation
      ? optionalString(confirmation, "custom_message", [...prefix, "hosted_confirmation"])
      : undefined;
    return { type, message: message || null };
  }
  return { type: "portal_homepage" };
}

/** The flow's subscription: one of this customer's, and not canceled. */
function readFlowSubscription(
  state: StripeState,
  flow: ParamObject,
  type: "subscription_cancel" | "subscription_update",
  customer: string,
): string {
  const param = `flow_data[${type}][subscription]`;
  const data = optionalObject(flow, type, ["flow_data"]);
  if (!data) throw parameterMissing(`flow_data[${type}]`);
  rejectUnknown(
    data,
    type === "subscription_cancel" ? ["subscription", "retention"] : [
      "subscription",
    ],
    ["flow_data", type],
  );
  const id = requiredString(data, "subscription", ["flow_data", type]);
  const subscription = state.subscription(id, param);
  if (subscription.customer !== customer) {
    throw parameterInvalid(
      param,
      `The subscription '${id}' does not belong to the customer '${customer}'.`,
    );
  }
  if (isEnded(subscription)) {
    throw parameterInvalid(param, `The subscription '${id}' has already been canceled.`);
  }
  if (type === "subscription_cancel" && subscription.cancel_at !== null) {
    throw parameterInvalid(param, "This subscription is already set to be canceled");
  }
  return id;
}

function readFlow(state: StripeState, params: ParamObject, customer: string): FlowInput | null {
  const flow = optionalObject(params, "flow_data");
  if (!flow) return null;
  rejectUnknown(flow, ["type", "after_completion", ...FLOW_TYPES], ["flow_data"]);
  const type = requiredString(flow, "type", ["flow_data"]);
  if (!FLOW_TYPES.includes(type)) {
    throw parameterInvalid(
      "flow_data[type]",
      `Invalid flow_data[type]: must be one of ${FLOW_TYPES.slice(0, -1).join(", ")}, or ${
        FLOW_TYPES.at(-1)
      }`,
    );
  }
  if (!(PORTAL_FLOWS as readonly string[]).includes(type)) {
    throw parameterInvalid(
      "flow_data[type]",
      `This local emulator serves the flows ${PORTAL_FLOWS.join(", ")} only.`,
    );
  }
  const afterCompletion = readAfterCompletion(flow);
  const subscription = type === "subscription_cancel" || type === "subscription_update"
    ? readFlowSubscription(state, flow, type, customer)
    : null;
  return { type: type as PortalFlow, subscription, afterCompletion };
}

/** Billing portal sessions' routes. */
export const PORTAL_ROUTES: Routes = {
  "POST billing_portal/sessions": (state, params) => {
    rejectUnknown(params, PORTAL_CREATE);
    const customer = requiredString(params, "customer");
    state.liveCustomer(customer, "customer");
    const configuration = optionalString(params, "configuration");
    if (configuration !== undefined && configuration !== PORTAL_CONFIGURATION_ID) {
      throw new StripeApiError(400, {
        type: "invalid_request_error",
        code: "resource_missing",
        message: `No such configuration: '${configuration}'`,
        param: "configuration",
      });
    }
    const returnUrl = optionalString(params, "return_url");
    if (returnUrl !== undefined) requireUrl(requiredString(params, "return_url"), "return_url");
    const flow = readFlow(state, params, customer);
    return createPortalSession(state, customer, returnUrl ?? null, flow);
  },
};
