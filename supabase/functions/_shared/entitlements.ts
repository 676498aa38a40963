/** A customer's active entitlements at Stripe, as the profile's `entitlements` column holds them. */
import { isMissingObject, type Stripe } from "./stripe.ts";

/** The lookup keys a customer is entitled to now (sorted), and the list pages that took. */
export interface EntitlementsRead {
  features: string[];
  pages: number;
}

/**
 * Reads every page of the customer's active entitlements; "gone" when Stripe no longer has the
 * customer.
 */
export async function readEntitlements(
  stripe: Stripe,
  customerId: string,
): Promise<EntitlementsRead | "gone"> {
  const features: string[] = [];
  let pages = 0;
  let after: string | undefined;
  try {
    while (true) {
      const page = await stripe.entitlements.activeEntitlements.list({
        customer: customerId,
        limit: 100,
        ...(after !== undefined && { starting_after: after }),
      });
      pages++;
      features.push(...page.data.map((entitlement) => entitlement.lookup_key));
      after = page.data.at(-1)?.id;
      if (!page.has_more || after === undefined) break;
    }
  } catch (error) {
    if (isMissingObject(error)) return "gone";
    throw error;
  }
  return { features: [...new Set(features)].sort(), pages };
}
