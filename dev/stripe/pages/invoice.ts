/** The hosted invoice page, `/i/:id`. */
import { formatAmount } from "../objects.ts";
import type { StripeState } from "../state.ts";
import { date, escapeHtml, message, page } from "./layout.ts";

/** An invoice as its customer sees it. */
export function invoicePage(state: StripeState, id: string): Response {
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
