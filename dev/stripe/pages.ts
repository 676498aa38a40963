/** HTML pages for people: hosted checkout, the billing portal and invoices. No JS, no assets. */
import type { Stripe } from "../../supabase/functions/_shared/stripe.ts";
import { formatAmount } from "./objects.ts";
import { StripeApiError } from "./errors.ts";
import type { StripeState } from "./state.ts";

const HTML_HEADERS = {
  "Content-Type": "text/html; charset=utf-8",
  "Cache-Control": "no-store",
  "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action *",
  "Referrer-Policy": "no-referrer",
  "X-Frame-Options": "DENY",
};

/** Escapes text for an element's content or an attribute's value. */
function escapeHtml(value: unknown): string {
  return String(value)
    .replaceAll("&", "&amp;")
    .replaceAll("<", "&lt;")
    .replaceAll(">", "&gt;")
    .replaceAll('"', "&quot;")
    .replaceAll("'", "&#39;");
}

/** Escapes element content; quotes may stay as they are ("Don't cancel"). */
function escapeText(value: unknown): string {
  return String(value).replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;");
}

/** Answers `/c/pay/:id`, `/p/session/:id` and `/i/:id`; undefined for other paths. */
export async function handlePage(
  state: StripeState,
  request: Request,
  url: URL,
): Promise<Response | undefined> {
  const match = url.pathname.match(/^\/(c\/pay|p\/session|i)\/([^/]+)\/?$/);
  if (!match) return undefined;
  const [, kind, rawId] = match;
  const id = decodeURIComponent(rawId ?? "");
  const method = request.method.toUpperCase();
  if (method !== "GET" && method !== "HEAD" && method !== "POST") {
    return page("Method not allowed", message("This page answers GET and POST only."), 405);
  }
  const form = method === "POST" ? new URLSearchParams(await request.text()) : undefined;
  switch (kind) {
    case "c/pay":
      return form ? payCheckout(state, id) : checkoutPage(state, id);
    case "p/session":
      return form ? portalAction(state, id, form.get("action") ?? "") : portalPage(state, id);
    default:
      return invoicePage(state, id);
  }
}

// ---- layout ------------------------------------------------------------------------------------

const STYLE = `
  :root { color-scheme: light dark; --fg: #1a1f36; --muted: #697386; --bg: #f6f9fc;
    --card: #fff; --line: #e3e8ee; --accent: #635bff; --danger: #df1b41; --ok: #0e6245;
    --okbg: #cbf4c9; --warnbg: #fcedb9; --warn: #983705; --badbg: #ffe7f2; }
  @media (prefers-color-scheme: dark) { :root { --fg: #e3e8ee; --muted: #a3acb9;
    --bg: #0a2540; --card: #1a2c44; --line: #2c4160; } }
  * { box-sizing: border-box; }
  body { margin: 0; font: 16px/1.5 -apple-system, BlinkMacSystemFont, "Segoe UI", Roboto,
    Helvetica, Arial, sans-serif; color: var(--fg); background: var(--bg); }
  main { max-width: 440px; margin: 48px auto; padding: 0 16px; }
  .card { background: var(--card); border: 1px solid var(--line); border-radius: 12px;
    padding: 28px; box-shadow: 0 2px 8px rgba(0,0,0,.06); }
  .tag { display: inline-block; font-size: 12px; font-weight: 600; letter-spacing: .04em;
    text-transform: uppercase; color: var(--muted); margin-bottom: 12px; }
  h1 { font-size: 22px; margin: 0 0 4px; }
  .price { font-size: 32px; font-weight: 700; margin: 8px 0 20px; }
  .price small { font-size: 16px; font-weight: 400; color: var(--muted); }
  dl { display: grid; grid-template-columns: auto 1fr; gap: 8px 16px; margin: 0 0 24px; }
  dt { color: var(--muted); } dd { margin: 0; text-align: right; overflow-wrap: anywhere; }
  form { margin: 0; }
  .actions { display: grid; gap: 10px; }
  button, .button { display: block; width: 100%; padding: 11px 16px; border-radius: 8px;
    border: 1px solid var(--line); background: var(--card); color: var(--fg); font: inherit;
    font-weight: 600; text-align: center; text-decoration: none; cursor: pointer; }
  button.primary { background: var(--accent); border-color: var(--accent); color: #fff; }
  button.danger { color: var(--danger); }
  button:focus-visible, .button:focus-visible { outline: 3px solid var(--accent);
    outline-offset: 2px; }
  .badge { display: inline-block; padding: 1px 8px; border-radius: 6px; font-size: 14px;
    font-weight: 600; background: var(--okbg); color: var(--ok); }
  .badge.warn { background: var(--warnbg); color: var(--warn); }
  .badge.bad { background: var(--badbg); color: var(--danger); }
  .note { color: var(--muted); font-size: 14px; margin: 16px 0 0; }
  .alert { border-radius: 8px; padding: 10px 14px; margin: 0 0 16px; background: var(--badbg);
    color: var(--danger); }
  .message { margin: 0 0 20px; }
  footer { text-align: center; color: var(--muted); font-size: 12px; margin-top: 16px; }
`;

function page(title: string, body: string, status = 200): Response {
  const html = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>${STYLE}</style>
</head>
<body>
<main>
<div class="card">
${body}
</div>
<footer>Local Stripe emulator · test mode · no real money moves</footer>
</main>
</body>
</html>
`;
  return new Response(html, { status, headers: HTML_HEADERS });
}

function message(text: string): string {
  return `<p class="message">${escapeHtml(text)}</p>`;
}

function redirect(location: string): Response {
  return new Response(null, { status: 303, headers: { Location: location } });
}

function postButton(action: string, label: string, name: string, value: string, style = "") {
  return `<form method="post" action="${escapeHtml(action)}"><button type="submit" name="${
    escapeHtml(name)
  }" value="${escapeHtml(value)}"${style ? ` class="${style}"` : ""}>${
    escapeText(label)
  }</button></form>`;
}

function linkButton(href: string, label: string): string {
  return `<a class="button" href="${escapeHtml(href)}">${escapeText(label)}</a>`;
}

function date(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined) return "—";
  return new Date(seconds * 1000).toLocaleDateString("en-US", {
    year: "numeric",
    month: "long",
    day: "numeric",
    timeZone: "UTC",
  });
}

/** "$10.00 / month", "$100.00 every 3 months", "$5.00". */
function priceLabel(price: Stripe.Price): string {
  const amount = formatAmount(price.unit_amount ?? 0, price.currency);
  const recurring = price.recurring;
  if (!recurring) return amount;
  return recurring.interval_count === 1
    ? `${amount} / ${recurring.interval}`
    : `${amount} every ${recurring.interval_count} ${recurring.interval}s`;
}

function productOf(state: StripeState, price: Stripe.Price): string {
  return state.productName(typeof price.product === "string" ? price.product : price.product.id);
}

function errorText(error: unknown): string {
  if (error instanceof StripeApiError) return error.body.message;
  return error instanceof Error ? error.message : String(error);
}

// ---- checkout ----------------------------------------------------------------------------------

function checkoutPage(state: StripeState, id: string, error?: string): Response {
  const record = state.checkouts.get(id);
  if (!record) {
    return page("Checkout not found", message("This checkout session does not exist."), 404);
  }
  const session = record.session;
  const action = `/c/pay/${encodeURIComponent(id)}`;
  const lines = record.lineItems.map((line) => ({ ...line, price: state.prices.get(line.price) }));
  const first = lines[0];
  const title = first?.price ? productOf(state, first.price) : "Set up a payment method";
  const email = session.customer_details?.email ?? session.customer_email ??
    customerEmail(state, session.customer);
  const back = session.cancel_url ? linkButton(session.cancel_url, "Back") : "";

  if (session.status !== "open") {
    const text = session.status === "complete"
      ? "This checkout is complete. Thank you!"
      : "This checkout session has expired. Go back and start again.";
    const next = session.status === "complete" && session.success_url
      ? linkButton(successUrl(session), "Continue")
      : back;
    return page(
      title,
      `<span class="tag">Checkout</span><h1>${escapeHtml(title)}</h1>
${message(text)}<div class="actions">${next}</div>`,
    );
  }

  const items = lines.map((line) => {
    if (!line.price) return "";
    const quantity = line.quantity > 1 ? ` × ${line.quantity}` : "";
    return `<dt>${escapeHtml(productOf(state, line.price))}${escapeHtml(quantity)}</dt><dd>${
      escapeHtml(priceLabel(line.price))
    }</dd>`;
  }).join("\n");
  const headline = first?.price
    ? `${productOf(state, first.price)} — ${priceLabel(first.price)}`
    : "Save a payment method";
  const trial = record.trialPeriodDays
    ? `<p class="note">Includes a ${escapeHtml(record.trialPeriodDays)}-day free trial.</p>`
    : "";
  return page(
    `Pay ${headline}`,
    `<span class="tag">Checkout · test mode</span>
<h1>${escapeHtml(headline)}</h1>
<div class="price">${
      escapeHtml(formatAmount(session.amount_total ?? 0, session.currency ?? "usd"))
    }${
      first?.price?.recurring
        ? ` <small>per ${escapeHtml(first.price.recurring.interval)}</small>`
        : ""
    }</div>
${error ? `<p class="alert">${escapeHtml(error)}</p>` : ""}
<dl>
${items}
<dt>Email</dt><dd>${escapeHtml(email ?? "—")}</dd>
<dt>Card</dt><dd>4242 4242 4242 4242 (test)</dd>
</dl>
<div class="actions">
${postButton(action, "Pay", "action", "pay", "primary")}
${back}
</div>${trial}`,
    error ? 400 : 200,
  );
}

function customerEmail(state: StripeState, customer: Stripe.Checkout.Session["customer"]) {
  if (typeof customer !== "string") return null;
  const found = state.customers.get(customer);
  return found && !found.deleted ? found.email : null;
}

function successUrl(session: Stripe.Checkout.Session): string {
  return (session.success_url ?? "").replaceAll("{CHECKOUT_SESSION_ID}", session.id);
}

function payCheckout(state: StripeState, id: string): Response {
  const record = state.checkouts.get(id);
  if (!record) {
    return page("Checkout not found", message("This checkout session does not exist."), 404);
  }
  try {
    state.completeCheckout(id);
  } catch (error) {
    if (record.session.status !== "open") return checkoutPage(state, id);
    return checkoutPage(state, id, errorText(error));
  }
  const session = record.session;
  return redirect(session.success_url ? successUrl(session) : `/c/pay/${encodeURIComponent(id)}`);
}

// ---- portal ------------------------------------------------------------------------------------

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

function portalPage(state: StripeState, id: string, error?: string): Response {
  const session = state.portalSessions.get(id);
  if (!session) {
    return page("Portal not found", message("This portal session does not exist."), 404);
  }
  const action = `/p/session/${encodeURIComponent(id)}`;
  const customer = state.customers.get(session.customer);
  const email = customer && !customer.deleted ? customer.email : null;
  const subscription = state.subscriptionOf(session.customer);
  const returnButton = postButton(action, "Return", "action", "return");
  const header = `<span class="tag">Billing · test mode</span>
<h1>Your subscription</h1>
${email ? `<p class="note">${escapeHtml(email)}</p>` : ""}
${error ? `<p class="alert">${escapeHtml(error)}</p>` : ""}`;

  if (!subscription) {
    return page(
      "Billing",
      `${header}${message("You have no subscription.")}<div class="actions">${returnButton}</div>`,
      error ? 400 : 200,
    );
  }
  const item = subscription.items.data[0];
  const price = item?.price;
  const periodEnd = item?.current_period_end;
  const ended = subscription.status === "canceled" ||
    subscription.status === "incomplete_expired";
  const invoice = state.openInvoice(subscription);
  let cancelState = "Renews automatically";
  if (ended) cancelState = `Canceled on ${date(subscription.ended_at)}`;
  else if (subscription.cancel_at !== null) {
    cancelState = `Cancels on ${date(subscription.cancel_at)}`;
  }
  const rows = [
    ["Plan", price ? `${productOf(state, price)} — ${priceLabel(price)}` : "—"],
    ["Status", ""],
    [
      subscription.status === "trialing" ? "Trial ends" : "Current period ends",
      date(subscription.status === "trialing" ? subscription.trial_end : periodEnd),
    ],
    ["Cancellation", cancelState],
    ...(invoice ? [["Amount due", formatAmount(invoice.amount_remaining, invoice.currency)]] : []),
  ].map(([label, value]) =>
    label === "Status"
      ? `<dt>Status</dt><dd><span class="${
        ["badge", STATUS_STYLE[subscription.status] ?? ""].join(" ").trim()
      }">${escapeHtml(subscription.status.replace("_", " "))}</span></dd>`
      : `<dt>${escapeHtml(label)}</dt><dd>${escapeHtml(value)}</dd>`
  ).join("\n");

  const buttons = ended ? [returnButton] : [
    subscription.cancel_at_period_end
      ? postButton(action, "Don't cancel", "action", "dont-cancel")
      : postButton(action, "Cancel at period end", "action", "cancel-at-period-end"),
    postButton(action, "Cancel now", "action", "cancel-now", "danger"),
    postButton(action, "Fail next payment", "action", "fail-next-payment"),
    postButton(action, "Pay now", "action", "pay-now", "primary"),
    returnButton,
  ];
  return page(
    "Billing",
    `${header}<dl>\n${rows}\n</dl>\n<div class="actions">\n${buttons.join("\n")}\n</div>
<p class="note">“Fail next payment” renews now with a declined card; “Pay now” pays what is due
or renews now with a good card.</p>`,
    error ? 400 : 200,
  );
}

function portalAction(state: StripeState, id: string, action: string): Response {
  const session = state.portalSessions.get(id);
  if (!session) {
    return page("Portal not found", message("This portal session does not exist."), 404);
  }
  const self = `/p/session/${encodeURIComponent(id)}`;
  if (action === "return") return redirect(session.return_url ?? self);
  const subscription = state.subscriptionOf(session.customer);
  if (!subscription) return portalPage(state, id, "You have no subscription.");
  try {
    switch (action) {
      case "cancel-at-period-end":
        state.cancelAtPeriodEnd(subscription.id, true);
        break;
      case "dont-cancel":
        state.cancelAtPeriodEnd(subscription.id, false);
        break;
      case "cancel-now":
        state.cancelNow(subscription.id);
        break;
      case "fail-next-payment":
        state.renew(subscription.id, { fail: true });
        break;
      case "pay-now":
        if (state.openInvoice(subscription)) state.payOpenInvoice(subscription.id);
        else state.renew(subscription.id);
        break;
      default:
        return portalPage(state, id, `Unknown action "${action}"`);
    }
  } catch (error) {
    return portalPage(state, id, errorText(error));
  }
  return redirect(self);
}

// ---- invoices ----------------------------------------------------------------------------------

function invoicePage(state: StripeState, id: string): Response {
  const invoice = state.invoices.get(id);
  if (!invoice) return page("Invoice not found", message("This invoice does not exist."), 404);
  const lines = invoice.lines.data.map((line) =>
    `<dt>${escapeHtml(line.description ?? "")}</dt><dd>${
      escapeHtml(formatAmount(line.amount, line.currency))
    }</dd>`
  ).join("\n");
  return page(
    `Invoice ${invoice.number ?? invoice.id}`,
    `<span class="tag">Invoice · test mode</span>
<h1>Invoice ${escapeHtml(invoice.number ?? invoice.id)}</h1>
<div class="price">${escapeHtml(formatAmount(invoice.total, invoice.currency))}</div>
<dl>
${lines}
<dt>Status</dt><dd>${escapeHtml(invoice.status ?? "draft")}</dd>
<dt>Issued</dt><dd>${escapeHtml(date(invoice.created))}</dd>
<dt>Billed to</dt><dd>${escapeHtml(invoice.customer_email ?? "—")}</dd>
</dl>`,
  );
}
