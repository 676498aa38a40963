/**
 * The billing portal's pages, `/p/session/:id`: the home page (the subscription, buttons that
 * act on it, links to the flows), and one page per flow (update the payment method, cancel,
 * change plan). A session made with `flow_data` opens on its flow's page and, once done, goes
 * where `after_completion` says; a flow opened from the home page comes back to it.
 */
import type { Stripe } from "../../../supabase/functions/_shared/stripe.ts";
import { openInvoice, payOpenInvoice, updatePaymentMethod } from "../billing.ts";
import { formatAmount } from "../objects.ts";
import { afterFlow, PORTAL_FLOWS, type PortalFlow, portalPrices } from "../portal.ts";
import type { StripeState } from "../state.ts";
import {
  cancelAtPeriodEnd,
  cancelNow,
  changePrice,
  renew,
  subscriptionOf,
} from "../subscriptions.ts";
import {
  date,
  errorText,
  escapeHtml,
  linkButton,
  message,
  page,
  postButton,
  priceLabel,
  productOf,
  redirect,
} from "./layout.ts";
import { isEnded } from "../billing_objects.ts";

const STATUS_STYLE: Record<string, string> = {
  active: "",
  trialing: "",
  past_due: "warn",
  unpaid: "bad",
  paused: "warn",
  incomplete: "warn",
  canceled: "bad",
  incomplete_expired: "bad",
};

function notFound(): Response {
  return page("Portal not found", message("This portal session does not exist."), 404);
}

function home(id: string): string {
  return `/p/session/${encodeURIComponent(id)}`;
}

function isFlow(value: string): value is PortalFlow {
  return (PORTAL_FLOWS as readonly string[]).includes(value);
}

function header(
  state: StripeState,
  session: Stripe.BillingPortal.Session,
  title: string,
  error?: string,
): string {
  const customer = state.customers.get(session.customer);
  const email = customer && !customer.deleted ? customer.email : null;
  return `<span class="tag">Billing · test mode</span>
<h1>${escapeHtml(title)}</h1>
${email ? `<p class="note">${escapeHtml(email)}</p>` : ""}
${error ? `<p class="alert">${escapeHtml(error)}</p>` : ""}`;
}

/** The subscription a flow acts on: the session's flow's, else the customer's. */
function flowSubscription(
  state: StripeState,
  session: Stripe.BillingPortal.Session,
): Stripe.Subscription | undefined {
  const flow = session.flow;
  const id = flow?.subscription_cancel?.subscription ?? flow?.subscription_update?.subscription;
  return id ? state.subscriptions.get(id) : subscriptionOf(state, session.customer);
}

// ---- home page ---------------------------------------------------------------------------------

/** Statuses the emulator renews (`renew` refuses the others). */
const RENEWABLE = new Set(["active", "trialing", "past_due", "unpaid"]);

/** The test buttons that move money, each with the footnote that says what it does. */
function paymentControls(
  action: string,
  subscription: Stripe.Subscription,
  due: boolean,
): { buttons: string[]; notes: string[] } {
  const buttons: string[] = [];
  const notes: string[] = [];
  if (RENEWABLE.has(subscription.status)) {
    buttons.push(postButton(action, "Fail next payment", "action", "fail-next-payment"));
    notes.push("“Fail next payment” renews now with a declined card");
  }
  // The same action either way: it pays an open invoice, else renews. Only a payment due earns
  // the prominent "Pay now"; on a paid subscription it says that it charges a new period.
  if (due) {
    buttons.push(postButton(action, "Pay now", "action", "pay-now", "primary"));
    notes.push("“Pay now” pays what is due with a good card");
  } else if (RENEWABLE.has(subscription.status)) {
    buttons.push(postButton(action, "Renew now (test)", "action", "pay-now"));
    notes.push("“Renew now (test)” ends the period now and charges the next with a good card");
  }
  return { buttons, notes };
}

function homePage(state: StripeState, session: Stripe.BillingPortal.Session, error?: string) {
  const action = home(session.id);
  const subscription = subscriptionOf(state, session.customer);
  const returnButton = postButton(action, "Return", "action", "return");
  const top = header(state, session, "Your subscription", error);
  if (!subscription) {
    return page(
      "Billing",
      `${top}${message("You have no subscription.")}<div class="actions">${returnButton}</div>`,
      error ? 400 : 200,
    );
  }
  const item = subscription.items.data[0];
  const price = item?.price;
  const invoice = openInvoice(state, subscription);
  const trialing = subscription.status === "trialing";
  const facts: [string, string][] = isEnded(subscription)
    ? [["Canceled on", date(subscription.ended_at)]]
    : [
      [
        trialing ? "Trial ends" : "Current period ends",
        date(trialing ? subscription.trial_end : item?.current_period_end),
      ],
      [
        "Cancellation",
        subscription.cancel_at === null
          ? "Renews automatically"
          : `Cancels on ${date(subscription.cancel_at)}`,
      ],
    ];
  const rows = [
    ["Plan", price ? `${productOf(state, price)} — ${priceLabel(price)}` : "—"],
    ["Status", ""],
    ...facts,
    ...(invoice ? [["Amount due", formatAmount(invoice.amount_remaining, invoice.currency)]] : []),
  ].map(([label, value]) =>
    label === "Status"
      ? `<dt>Status</dt><dd><span class="${
        ["badge", STATUS_STYLE[subscription.status] ?? ""].join(" ").trim()
      }">${escapeHtml(subscription.status.replace("_", " "))}</span></dd>`
      : `<dt>${escapeHtml(label)}</dt><dd>${escapeHtml(value)}</dd>`
  ).join("\n");

  if (isEnded(subscription)) {
    return page(
      "Billing",
      `${top}<dl>\n${rows}\n</dl>\n<div class="actions">\n${returnButton}\n</div>`,
      error ? 400 : 200,
    );
  }
  const due = invoice !== undefined || subscription.status === "past_due" ||
    subscription.status === "unpaid";
  const payment = paymentControls(action, subscription, due);
  const controls = [
    subscription.cancel_at_period_end
      ? postButton(action, "Don't cancel", "action", "dont-cancel")
      : postButton(action, "Cancel at period end", "action", "cancel-at-period-end"),
    postButton(action, "Cancel now", "action", "cancel-now", "danger"),
    ...payment.buttons,
    linkButton(`${action}/subscription_update`, "Change plan"),
    linkButton(`${action}/payment_method_update`, "Update payment method"),
    returnButton,
  ];
  const notes = payment.notes.length > 0
    ? `\n<p class="note">${escapeHtml(`${payment.notes.join("; ")}.`)}</p>`
    : "";
  return page(
    "Billing",
    `${top}<dl>\n${rows}\n</dl>\n<div class="actions">\n${controls.join("\n")}\n</div>${notes}`,
    error ? 400 : 200,
  );
}

function homeAction(
  state: StripeState,
  session: Stripe.BillingPortal.Session,
  action: string,
): Response {
  if (action === "return") return redirect(session.return_url ?? home(session.id));
  const subscription = subscriptionOf(state, session.customer);
  if (!subscription) return homePage(state, session, "You have no subscription.");
  try {
    switch (action) {
      case "cancel-at-period-end":
        cancelAtPeriodEnd(state, subscription.id, true);
        break;
      case "dont-cancel":
        cancelAtPeriodEnd(state, subscription.id, false);
        break;
      case "cancel-now":
        cancelNow(state, subscription.id);
        break;
      case "fail-next-payment":
        renew(state, subscription.id, { fail: true });
        break;
      case "pay-now":
        if (openInvoice(state, subscription)) payOpenInvoice(state, subscription.id);
        else renew(state, subscription.id);
        break;
      default:
        return homePage(state, session, `Unknown action "${action}"`);
    }
  } catch (error) {
    return homePage(state, session, errorText(error));
  }
  return redirect(home(session.id));
}

// ---- flows -------------------------------------------------------------------------------------

function flowPage(
  state: StripeState,
  session: Stripe.BillingPortal.Session,
  flow: PortalFlow,
  path: string,
  error?: string,
): Response {
  const back = session.flow
    ? (session.return_url ? linkButton(session.return_url, "Back") : "")
    : linkButton(home(session.id), "Back");
  const subscription = flowSubscription(state, session);
  if (flow === "payment_method_update") {
    return page(
      "Update payment method",
      `${header(state, session, "Update payment method", error)}
<dl><dt>New card</dt><dd>4242 4242 4242 4242 (test)</dd></dl>
<div class="actions">${postButton(path, "Save card", "action", "save-payment-method", "primary")}
${back}</div>`,
      error ? 400 : 200,
    );
  }
  if (!subscription || isEnded(subscription)) {
    return page(
      "Billing",
      `${header(state, session, "Your subscription", error)}${
        message("You have no subscription to change.")
      }<div class="actions">${back}</div>`,
      error ? 400 : 200,
    );
  }
  const current = subscription.items.data[0]?.price;
  if (flow === "subscription_cancel") {
    const end = subscription.items.data[0]?.current_period_end;
    return page(
      "Cancel subscription",
      `${header(state, session, "Cancel your subscription", error)}
<dl><dt>Plan</dt><dd>${
        escapeHtml(current ? `${productOf(state, current)} — ${priceLabel(current)}` : "—")
      }</dd>
<dt>Access until</dt><dd>${escapeHtml(date(end))}</dd></dl>
<div class="actions">${
        postButton(path, "Cancel subscription", "action", "confirm-cancel", "danger")
      }
${back}</div>`,
      error ? 400 : 200,
    );
  }
  const choices = portalPrices(state).map((price) => {
    const label = `${productOf(state, price)} — ${priceLabel(price)}`;
    return price.id === current?.id
      ? `<p class="note">Current plan: ${escapeHtml(label)}</p>`
      : postButton(path, `Switch to ${label}`, "price", price.id);
  });
  return page(
    "Change plan",
    `${header(state, session, "Change your plan", error)}
<div class="actions">${choices.join("\n")}
${back}</div>`,
    error ? 400 : 200,
  );
}

function flowAction(
  state: StripeState,
  session: Stripe.BillingPortal.Session,
  flow: PortalFlow,
  path: string,
  form: URLSearchParams,
): Response {
  const done = session.flow ? afterFlow(session) : home(session.id);
  try {
    if (flow === "payment_method_update") {
      if (form.get("action") !== "save-payment-method") {
        return flowPage(state, session, flow, path, "Choose an action on this page.");
      }
      updatePaymentMethod(state, session.customer);
      return redirect(done);
    }
    const subscription = flowSubscription(state, session);
    if (!subscription || isEnded(subscription)) {
      return flowPage(state, session, flow, path, "You have no subscription to change.");
    }
    if (flow === "subscription_cancel") {
      if (form.get("action") !== "confirm-cancel") {
        return flowPage(state, session, flow, path, "Choose an action on this page.");
      }
      // The default portal configuration cancels at the end of the period.
      cancelAtPeriodEnd(state, subscription.id, true);
      return redirect(done);
    }
    const price = form.get("price") ?? "";
    if (!portalPrices(state).some((offered) => offered.id === price)) {
      return flowPage(state, session, flow, path, `Unknown plan "${price}"`);
    }
    changePrice(state, subscription.id, price);
    return redirect(done);
  } catch (error) {
    return flowPage(state, session, flow, path, errorText(error));
  }
}

/** Answers `/p/session/:id` and `/p/session/:id/:flow`, GET or POST. */
export function portalRequest(
  state: StripeState,
  id: string,
  flowSegment: string | undefined,
  form: URLSearchParams | undefined,
): Response {
  const session = state.portalSessions.get(id);
  if (!session) return notFound();
  const flow = flowSegment ?? session.flow?.type;
  if (flow !== undefined && !isFlow(flow)) return notFound();
  const path = flowSegment === undefined ? home(id) : `${home(id)}/${flowSegment}`;
  if (flow === undefined) {
    return form ? homeAction(state, session, form.get("action") ?? "") : homePage(state, session);
  }
  return form ? flowAction(state, session, flow, path, form) : flowPage(state, session, flow, path);
}
