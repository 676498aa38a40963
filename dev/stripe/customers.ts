/** Customers: create, update, and delete (which cancels their subscriptions at once, as Stripe does). */
import type { Stripe } from "../../supabase/functions/_shared/stripe.ts";
import { resourceMissing } from "./errors.ts";
import { type CustomerFields, customerObject, newId } from "./objects.ts";
import type { StripeState } from "./state.ts";
import { cancelNow } from "./subscriptions.ts";
import { isEnded } from "./billing_objects.ts";

/** Creates a customer (`customer.created`). */
export function createCustomer(
  state: StripeState,
  fields: Omit<CustomerFields, "id" | "created" | "livemode">,
): Stripe.Customer {
  const customer = customerObject({
    ...fields,
    id: newId("cus"),
    created: state.now(),
    livemode: state.livemode,
  });
  state.customers.set(customer.id, customer);
  state.emit("customer.created", customer);
  return customer;
}

/** Updates a customer (`customer.updated` when something changed); a deleted one is missing. */
export function updateCustomer(
  state: StripeState,
  id: string,
  change: (customer: Stripe.Customer) => void,
): Stripe.Customer {
  const customer = state.customer(id);
  if (customer.deleted) throw resourceMissing("customer", id);
  state.update("customer.updated", customer, change);
  return customer;
}

/**
 * Deletes a customer: its live subscriptions are canceled now (`customer.subscription.deleted`
 * each), then `customer.deleted`. The id stays known, as a deleted customer.
 */
export function deleteCustomer(state: StripeState, id: string): Stripe.DeletedCustomer {
  const customer = state.customer(id);
  if (customer.deleted) throw resourceMissing("customer", id);
  for (const subscription of state.subscriptionsOf(id)) {
    if (!isEnded(subscription)) {
      cancelNow(state, subscription.id);
    }
  }
  const deleted: Stripe.DeletedCustomer = { id, object: "customer", deleted: true };
  state.customers.set(id, deleted);
  state.emit("customer.deleted", customer);
  return deleted;
}
