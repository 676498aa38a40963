/**
 * Stripe checks: the key works, the allowed prices are in the key's mode (test or live), and each
 * one exists, is active and recurring, on an active product.
 */
import { isPriceId, LOOKUP_KEYS_PER_LIST } from "../../supabase/functions/_shared/plans.ts";
import { isMissingObject, Stripe } from "../../supabase/functions/_shared/stripe.ts";
import { type CheckResult, failed, passed, skipped } from "./report.ts";

/** Test or live, as Stripe keeps the two apart. */
export type StripeMode = "test" | "live";

/** The mode a key works in. */
export function keyMode(key: string): StripeMode {
  return /^(sk|rk)_live_/.test(key) ? "live" : "test";
}

/** A price checkout may sell, and the variable that names it. */
export interface AllowedPrice {
  reference: string;
  variable: "STRIPE_PRICE_ID" | "STRIPE_PRICE_IDS";
}

/** What Stripe answered about one allowed price. */
export type Resolution =
  | { kind: "found"; price: Stripe.Price }
  /** No such price in the key's mode; `otherMode` when Stripe says it exists in the other. */
  | { kind: "missing"; otherMode: StripeMode | null }
  | { kind: "error"; message: string };

/** A Stripe failure as one line of text, secrets masked by the printer. */
export function stripeMessage(error: unknown): string {
  if (error instanceof Stripe.errors.StripeConnectionError) {
    return `Stripe could not be reached: ${error.message}`;
  }
  return error instanceof Error ? error.message : String(error);
}

/**
 * The mode Stripe names when a price is missing from this one: "No such price: 'price_...'; a
 * similar object exists in test mode, but a live mode key was used to make this request."
 */
export function otherModeOf(message: string): StripeMode | null {
  const match = /similar object exists in (test|live) mode/.exec(message);
  return match?.[1] === "test" || match?.[1] === "live" ? match[1] : null;
}

/** Looks every allowed price up: ids one by one, lookup keys as many to a call as Stripe takes. */
export async function resolvePrices(
  stripe: Stripe,
  prices: readonly AllowedPrice[],
): Promise<Map<string, Resolution>> {
  const resolved = new Map<string, Resolution>();
  const lookupKeys: string[] = [];
  for (const { reference } of prices) {
    if (resolved.has(reference)) continue;
    if (!isPriceId(reference)) {
      if (!lookupKeys.includes(reference)) lookupKeys.push(reference);
      continue;
    }
    try {
      const price = await stripe.prices.retrieve(reference, { expand: ["product"] });
      resolved.set(reference, { kind: "found", price });
    } catch (error) {
      resolved.set(
        reference,
        isMissingObject(error)
          ? { kind: "missing", otherMode: otherModeOf(error.message) }
          : { kind: "error", message: stripeMessage(error) },
      );
    }
  }
  for (let start = 0; start < lookupKeys.length; start += LOOKUP_KEYS_PER_LIST) {
    const batch = lookupKeys.slice(start, start + LOOKUP_KEYS_PER_LIST);
    try {
      const list = await stripe.prices.list({
        lookup_keys: batch,
        expand: ["data.product"],
        limit: 100,
      });
      for (const key of batch) {
        const price = list.data.find((candidate) => candidate.lookup_key === key);
        resolved.set(
          key,
          price ? { kind: "found", price } : { kind: "missing", otherMode: null },
        );
      }
    } catch (error) {
      for (const key of batch) resolved.set(key, { kind: "error", message: stripeMessage(error) });
    }
  }
  return resolved;
}

/** The mode a resolved price is in, when known. */
function modeOf(resolution: Resolution | undefined): StripeMode | null {
  if (resolution?.kind === "found") return resolution.price.livemode ? "live" : "test";
  if (resolution?.kind === "missing") return resolution.otherMode;
  return null;
}

function label(price: AllowedPrice): string {
  return `"${price.reference}" (${price.variable})`;
}

function setPrice(price: AllowedPrice, what: string): string {
  return price.variable === "STRIPE_PRICE_ID"
    ? `supabase secrets set STRIPE_PRICE_ID=${what}`
    : `supabase secrets set STRIPE_PRICE_IDS=... (without or in place of "${price.reference}")`;
}

/** Checks that the key works; the other Stripe checks need it. */
export async function checkKey(stripe: Stripe, mode: StripeMode): Promise<CheckResult> {
  try {
    await stripe.prices.list({ limit: 1 });
    return passed(`Stripe accepts STRIPE_SECRET_KEY (${mode} mode)`);
  } catch (error) {
    if (error instanceof Stripe.errors.StripeAuthenticationError) {
      return failed(
        `Stripe refused STRIPE_SECRET_KEY: ${stripeMessage(error)}`,
        "supabase secrets set STRIPE_SECRET_KEY=sk_live_... (Dashboard, Developers, API keys)",
      );
    }
    if (error instanceof Stripe.errors.StripePermissionError) {
      return failed(
        `STRIPE_SECRET_KEY may not read prices: ${stripeMessage(error)}`,
        "give the restricted key read access to prices and products, or use the secret key",
      );
    }
    return failed(
      `Stripe did not answer with STRIPE_SECRET_KEY: ${stripeMessage(error)}`,
      "check STRIPE_API_URL (unset for Stripe's own API) and the network, then run the doctor again",
    );
  }
}

/** The mode check's name, for the line that says it could not run. */
export const MODE_CHECK = "Prices in the same mode as STRIPE_SECRET_KEY";

/** Checks that every allowed price that was found is in the key's mode. */
export function checkMode(
  mode: StripeMode,
  prices: readonly AllowedPrice[],
  resolved: ReadonlyMap<string, Resolution>,
): CheckResult {
  const known = prices.filter((price) => modeOf(resolved.get(price.reference)) !== null);
  if (known.length === 0) return skipped(MODE_CHECK, "no allowed price was found (below)");
  const other = known.filter((price) => modeOf(resolved.get(price.reference)) !== mode);
  if (other.length === 0) {
    return passed(`The prices are ${mode}-mode prices, like STRIPE_SECRET_KEY`);
  }
  const otherMode = mode === "live" ? "test" : "live";
  return failed(
    `STRIPE_SECRET_KEY is a ${mode}-mode key, but ${other.map(label).join(", ")} ${
      other.length === 1 ? "is a" : "are"
    } ${otherMode}-mode price${other.length === 1 ? "" : "s"}`,
    `use the ${mode}-mode prices (lookup keys stay the same in both modes): ` +
      `supabase secrets set STRIPE_PRICE_ID=... STRIPE_PRICE_IDS=...; ` +
      `or the ${otherMode}-mode key: supabase secrets set STRIPE_SECRET_KEY=sk_${otherMode}_...`,
  );
}

function interval(recurring: Stripe.Price.Recurring): string {
  return recurring.interval_count === 1
    ? `every ${recurring.interval}`
    : `every ${recurring.interval_count} ${recurring.interval}s`;
}

/** Checks one allowed price: it exists, is active and recurring, on an active product. */
export function checkPrice(
  mode: StripeMode,
  price: AllowedPrice,
  resolution: Resolution | undefined,
): CheckResult {
  const summary = `Price ${label(price)}`;
  const priceMode = modeOf(resolution);
  if (priceMode !== null && priceMode !== mode) {
    return skipped(summary, `it is a ${priceMode}-mode price (above)`);
  }
  if (resolution === undefined || resolution.kind === "error") {
    return failed(
      `${summary} could not be read: ${resolution?.message ?? "no answer"}`,
      "run the doctor again; if it persists, check STRIPE_API_URL and the network",
    );
  }
  if (resolution.kind === "missing") {
    return isPriceId(price.reference)
      ? failed(
        `${summary}: no such price in ${mode} mode`,
        `copy the price's id from the Dashboard (Product catalog): ${setPrice(price, "price_...")}`,
      )
      : failed(
        `${summary}: no ${mode}-mode price has this lookup key`,
        `give a price this lookup key in the Dashboard, or name a price id: ${
          setPrice(price, "price_...")
        }`,
      );
  }
  const found = resolution.price;
  const problems: string[] = [];
  const remedies: string[] = [];
  if (!found.active) {
    problems.push("it is archived");
    remedies.push("restore it in the Dashboard");
  }
  if (found.recurring === null) {
    problems.push("it is a one-time price, and checkout sells subscriptions");
  }
  const product = found.product;
  const productName = typeof product === "string"
    ? `"${product}"`
    : "deleted" in product
    ? `"${product.id}"`
    : `"${product.name}" (${product.id})`;
  if (typeof product !== "string" && ("deleted" in product || !product.active)) {
    problems.push(`its product ${productName} is ${"deleted" in product ? "deleted" : "archived"}`);
    remedies.push("restore the product in the Dashboard");
  }
  const name = found.id === price.reference ? summary : `${summary} is ${found.id}`;
  if (problems.length > 0) {
    // Restoring a one-time price would not make it sell subscriptions.
    const fix = found.recurring === null
      ? "name a recurring price"
      : `${remedies.join(", ")}, or name another price`;
    return failed(`${name}: ${problems.join("; ")}`, `${fix}: ${setPrice(price, "price_...")}`);
  }
  const recurring = found.recurring;
  return passed(
    `${name}: active, recurring ${
      recurring ? interval(recurring) : ""
    }, product ${productName} active`,
  );
}
