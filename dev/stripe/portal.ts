/**
 * The billing portal: sessions for a customer, maybe deep-linked into one flow (update the
 * payment method, cancel, change plan), and the default configuration that decides what the
 * portal offers: cancel at the period's end, and a plan change among the catalog's recurring
 * prices, without an invoice at the change (prorations wait for the next one).
 */
import type { Stripe } from "../../supabase/functions/_shared/stripe.ts";
import { newId } from "./objects.ts";
import { portalSessionObject } from "./session_objects.ts";
import type { StripeState } from "./state.ts";

/** The id of the portal configuration every session uses. */
export const PORTAL_CONFIGURATION_ID = "bpc_local_default";

/** The flows the portal deep-links into. */
export const PORTAL_FLOWS = [
  "payment_method_update",
  "subscription_cancel",
  "subscription_update",
] as const;

/** A flow of {@link PORTAL_FLOWS}. */
export type PortalFlow = typeof PORTAL_FLOWS[number];

/** What happens once a flow is done. */
export type AfterCompletion =
  | { type: "redirect"; returnUrl: string }
  | { type: "portal_homepage" }
  | { type: "hosted_confirmation"; message: string | null };

/** A validated `flow_data`. */
export interface FlowInput {
  type: PortalFlow;
  subscription: string | null;
  afterCompletion: AfterCompletion;
}

function flowObject(input: FlowInput): Stripe.BillingPortal.Session.Flow {
  const after = input.afterCompletion;
  return {
    after_completion: {
      hosted_confirmation: after.type === "hosted_confirmation"
        ? { custom_message: after.message }
        : null,
      redirect: after.type === "redirect" ? { return_url: after.returnUrl } : null,
      type: after.type,
    },
    customer_update: null,
    subscription_cancel: input.type === "subscription_cancel" && input.subscription
      ? { retention: null, subscription: input.subscription }
      : null,
    subscription_pause: null,
    subscription_update: input.type === "subscription_update" && input.subscription
      ? { subscription: input.subscription }
      : null,
    subscription_update_confirm: null,
    type: input.type,
  };
}

/** Creates a portal session reachable at `/p/session/<id>` (`billing_portal.session.created`). */
export function createPortalSession(
  state: StripeState,
  customer: string,
  returnUrl: string | null,
  flow: FlowInput | null,
): Stripe.BillingPortal.Session {
  const id = newId("bps", 24);
  const session = portalSessionObject({
    id,
    customer,
    returnUrl,
    url: `${state.publicUrl()}/p/session/${id}`,
    created: state.now(),
    livemode: state.livemode,
    configuration: PORTAL_CONFIGURATION_ID,
    flow: flow ? flowObject(flow) : null,
  });
  state.portalSessions.set(id, session);
  state.emit("billing_portal.session.created", session);
  return session;
}

/** The prices a customer may switch to: the active recurring prices of active products. */
export function portalPrices(state: StripeState): Stripe.Price[] {
  return [...state.prices.values()]
    .filter((price) => {
      const product = state.products.get(String(price.product));
      return price.active && price.recurring !== null && product?.active === true;
    })
    .sort((a, b) =>
      String(a.product).localeCompare(String(b.product)) ||
      (a.unit_amount ?? 0) - (b.unit_amount ?? 0)
    );
}

/** Where a flow sends the person once done: its redirect, else the session's home page. */
export function afterFlow(session: Stripe.BillingPortal.Session): string {
  const redirect = session.flow?.after_completion.redirect?.return_url;
  return redirect ?? `/p/session/${encodeURIComponent(session.id)}`;
}
