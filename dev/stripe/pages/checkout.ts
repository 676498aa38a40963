/**
 * The hosted checkout page, `/c/pay/:id`: what is bought, a promotion code field when the
 * session allows codes, and Pay (or Start trial, for a trial that needs no card).
 */
import type { Stripe } from "../../../supabase/functions/_shared/stripe.ts";
import { cardOptional, completeCheckout } from "../checkout.ts";
import { formatAmount } from "../objects.ts";
import type { StripeState } from "../state.ts";
import {
  errorText,
  escapeHtml,
  escapeText,
  linkButton,
  message,
  page,
  priceLabel,
  productOf,
  redirect,
} from "./layout.ts";

function customerEmail(state: StripeState, customer: Stripe.Checkout.Session["customer"]) {
  if (typeof customer !== "string") return null;
  const found = state.customers.get(customer);
  return found && !found.deleted ? found.email : null;
}

function successUrl(session: Stripe.Checkout.Session): string {
  return (session.success_url ?? "").replaceAll("{CHECKOUT_SESSION_ID}", session.id);
}

function notFound(): Response {
  return page("Checkout not found", message("This checkout session does not exist."), 404);
}

/** The page of a session: open with its form, or complete, or expired. */
export function checkoutPage(
  state: StripeState,
  id: string,
  error?: string,
  typed: { promotionCode?: string; name?: string } = {},
): Response {
  const record = state.checkouts.get(id);
  if (!record) return notFound();
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
  const currency = session.currency ?? "usd";
  const discount = session.total_details?.amount_discount ?? 0;
  const withoutCard = cardOptional(state, id);
  const trial = record.trialPeriodDays
    ? `<p class="note">Includes a ${escapeHtml(record.trialPeriodDays)}-day free trial${
      withoutCard ? "; no card needed" : ""
    }.</p>`
    : "";
  const fields = [
    session.allow_promotion_codes
      ? `<label>Promotion code<input name="promotion_code" autocomplete="off" value="${
        escapeHtml(typed.promotionCode ?? "")
      }"></label>`
      : "",
    record.customerUpdate?.name === "auto"
      ? `<label>Name<input name="name" autocomplete="name" value="${
        escapeHtml(typed.name ?? "")
      }"></label>`
      : "",
  ].join("");
  const label = withoutCard ? "Start trial" : "Pay";
  return page(
    `Pay ${headline}`,
    `<span class="tag">Checkout · test mode</span>
<h1>${escapeHtml(headline)}</h1>
<div class="price">${escapeHtml(formatAmount(session.amount_total ?? 0, currency))}${
      first?.price?.recurring
        ? ` <small>${
          record.trialPeriodDays ? "due today" : `per ${escapeHtml(first.price.recurring.interval)}`
        }</small>`
        : ""
    }</div>
${error ? `<p class="alert">${escapeHtml(error)}</p>` : ""}
<dl>
${items}
${discount > 0 ? `<dt>Discount</dt><dd>−${escapeHtml(formatAmount(discount, currency))}</dd>` : ""}
<dt>Email</dt><dd>${escapeHtml(email ?? "—")}</dd>
${withoutCard ? "" : "<dt>Card</dt><dd>4242 4242 4242 4242 (test)</dd>"}
${session.automatic_tax.enabled ? `<dt>Tax</dt><dd>Calculated at payment</dd>` : ""}
</dl>
<form method="post" action="${escapeHtml(action)}">${fields}<div class="actions">
<button type="submit" name="action" value="pay" class="primary">${escapeText(label)}</button>
${back}
</div></form>${trial}`,
    error ? 400 : 200,
  );
}

/** Completes the session as the person asked, then sends them to the success URL. */
export function payCheckout(state: StripeState, id: string, form: URLSearchParams): Response {
  const record = state.checkouts.get(id);
  if (!record) return notFound();
  const typed = {
    promotionCode: form.get("promotion_code") ?? undefined,
    name: form.get("name") || undefined,
  };
  try {
    completeCheckout(state, id, typed);
  } catch (error) {
    if (record.session.status !== "open") return checkoutPage(state, id);
    return checkoutPage(state, id, errorText(error), typed);
  }
  const session = record.session;
  return redirect(session.success_url ? successUrl(session) : `/c/pay/${encodeURIComponent(id)}`);
}
