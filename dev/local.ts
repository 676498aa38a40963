/**
 * What `deno task dev` uses for whatever is not configured, in one place, so that the tools run
 * beside it (`deno task token`, `deno task sync`) find the same local services.
 */
import { CATALOG, DEFAULT_PRICE_ID } from "./stripe/catalog.ts";

/** The secret key the local Stripe emulator accepts. */
export const LOCAL_STRIPE_SECRET_KEY = "sk_test_local_emulator";

/** The secret the local emulator signs webhooks with, unless `STRIPE_WEBHOOK_SECRET` is set. */
export const LOCAL_WEBHOOK_SECRET = "whsec_local_emulator";

/** The bearer secret of the local `stripe-sync`, unless `BILLING_SYNC_SECRET` is set. */
export const LOCAL_SYNC_SECRET = "local-sync-secret-not-for-production";

/**
 * The publishable key of the local API (auth and REST stand-ins), as a project's
 * `sb_publishable_...` key: public by design, it identifies the project, never a user.
 */
export const LOCAL_PUBLISHABLE_KEY = "sb_publishable_local_demo_key";

/** Default ports: the functions, the embedded database, the Stripe emulator. */
export const LOCAL_PORTS = { app: 54321, db: 54322, stripe: 12111 } as const;

/** Seconds between the local sync passes, unless `SYNC_INTERVAL_SECONDS` says otherwise. */
export const LOCAL_SYNC_INTERVAL_SECONDS = 60;

/** The default plan with the emulator, unless `STRIPE_PRICE_ID` is set. */
export const LOCAL_PRICE_ID = DEFAULT_PRICE_ID;

/**
 * The other plans with the emulator, unless `STRIPE_PRICE_IDS` is set: the whole catalog, named
 * by lookup key as a real project would name them (they stay the same in test and live mode).
 */
export const LOCAL_PRICE_IDS = Object.values(CATALOG.lookupKeys).join(",");

/** Sets the emulator's plans where `env` names none: the default and the other allowed ones. */
export function useLocalPlans(env: Map<string, string>): void {
  if (!env.get("STRIPE_PRICE_ID")) env.set("STRIPE_PRICE_ID", LOCAL_PRICE_ID);
  if (!env.get("STRIPE_PRICE_IDS")) env.set("STRIPE_PRICE_IDS", LOCAL_PRICE_IDS);
}
