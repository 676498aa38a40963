/** HTML pages for people: hosted checkout, the billing portal and invoices. No JS, no assets. */
import { readBody } from "../body.ts";
import { decodeSegment } from "../form.ts";
import type { StripeState } from "../state.ts";
import { checkoutPage, payCheckout } from "./checkout.ts";
import { invoicePage } from "./invoice.ts";
import { message, page } from "./layout.ts";
import { portalRequest } from "./portal.ts";

/** Answers `/c/pay/:id`, `/p/session/:id[/:flow]` and `/i/:id`; undefined for other paths. */
export async function handlePage(
  state: StripeState,
  request: Request,
  url: URL,
): Promise<Response | undefined> {
  const match = url.pathname.match(/^\/(c\/pay|p\/session|i)\/([^/]+)(?:\/([^/]+))?\/?$/);
  if (!match) return undefined;
  const [, kind, rawId, rawFlow] = match;
  if (rawFlow !== undefined && kind !== "p/session") return undefined;
  const id = decodeSegment(rawId ?? "");
  const flow = rawFlow === undefined ? undefined : decodeSegment(rawFlow);
  if (id === null || flow === null) {
    return page("Not found", message("This page does not exist."), 404);
  }
  const method = request.method.toUpperCase();
  if (method !== "GET" && method !== "HEAD" && method !== "POST") {
    return page("Method not allowed", message("This page answers GET and POST only."), 405);
  }
  const form = method === "POST" ? new URLSearchParams(await readBody(request)) : undefined;
  switch (kind) {
    case "c/pay":
      return form ? payCheckout(state, id, form) : checkoutPage(state, id);
    case "p/session":
      return portalRequest(state, id, flow, form);
    default:
      return invoicePage(state, id);
  }
}
