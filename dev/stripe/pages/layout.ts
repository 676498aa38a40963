/** The pages' shared layout: escaping, one style sheet, forms and buttons, dates and prices. */
import type { Stripe } from "../../../supabase/functions/_shared/stripe.ts";
import { StripeApiError } from "../errors.ts";
import { formatAmount } from "../objects.ts";
import type { StripeState } from "../state.ts";

const HTML_HEADERS = {
  "Content-Type": "text/html; charset=utf-8",
  "Cache-Control": "no-store",
  "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action *",
  "Referrer-Policy": "no-referrer",
  "X-Frame-Options": "DENY",
};

/** Escapes text for an element's content or an attribute's value. */
export function escapeHtml(value: unknown): string {
  return String(value)
    .replaceAll("&", "&amp;")
    .replaceAll("<", "&lt;")
    .replaceAll(">", "&gt;")
    .replaceAll('"', "&quot;")
    .replaceAll("'", "&#39;");
}

/** Escapes element content; quotes may stay as they are ("Don't cancel"). */
export function escapeText(value: unknown): string {
  return String(value).replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;");
}

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
  label { display: block; font-size: 14px; color: var(--muted); margin: 0 0 14px; }
  input { display: block; width: 100%; margin-top: 4px; padding: 9px 12px; border-radius: 8px;
    border: 1px solid var(--line); background: var(--card); color: var(--fg); font: inherit; }
  footer { text-align: center; color: var(--muted); font-size: 12px; margin-top: 16px; }
`;

/** A whole page: title, the card's body, and a status. */
export function page(title: string, body: string, status = 200): Response {
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

/** A paragraph of text. */
export function message(text: string): string {
  return `<p class="message">${escapeHtml(text)}</p>`;
}

/** A 303 to `location`, as a browser expects after a form. */
export function redirect(location: string): Response {
  return new Response(null, { status: 303, headers: { Location: location } });
}

/** A form of one button that posts `name=value`. */
export function postButton(
  action: string,
  label: string,
  name: string,
  value: string,
  style = "",
): string {
  return `<form method="post" action="${escapeHtml(action)}"><button type="submit" name="${
    escapeHtml(name)
  }" value="${escapeHtml(value)}"${style ? ` class="${style}"` : ""}>${
    escapeText(label)
  }</button></form>`;
}

/** A link that looks like a button. */
export function linkButton(href: string, label: string): string {
  return `<a class="button" href="${escapeHtml(href)}">${escapeText(label)}</a>`;
}

/** "March 3, 2026", or a dash. */
export function date(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined) return "—";
  return new Date(seconds * 1000).toLocaleDateString("en-US", {
    year: "numeric",
    month: "long",
    day: "numeric",
    timeZone: "UTC",
  });
}

/** "$10.00 / month", "$100.00 every 3 months", "$5.00". */
export function priceLabel(price: Stripe.Price): string {
  const amount = formatAmount(price.unit_amount ?? 0, price.currency);
  const recurring = price.recurring;
  if (!recurring) return amount;
  return recurring.interval_count === 1
    ? `${amount} / ${recurring.interval}`
    : `${amount} every ${recurring.interval_count} ${recurring.interval}s`;
}

/** The name of a price's product. */
export function productOf(state: StripeState, price: Stripe.Price): string {
  return state.productName(typeof price.product === "string" ? price.product : price.product.id);
}

/** What a refusal says to a person. */
export function errorText(error: unknown): string {
  if (error instanceof StripeApiError) return error.body.message;
  return error instanceof Error ? error.message : String(error);
}
