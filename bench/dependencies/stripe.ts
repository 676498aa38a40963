/**
 * The Stripe SDK's share of a cold start: a bare `Deno.serve` that first builds the functions'
 * Stripe client, which loads and initializes the SDK exactly as the functions do.
 */
import { createStripe } from "../../supabase/functions/_shared/stripe.ts";

createStripe({ secretKey: "sk_test_cold_start" });
Deno.serve(() => new Response("ok"));
