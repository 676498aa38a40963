/** The Stripe emulator's public surface: the emulator, its server, and what tests name. */
export {
  type RunningStripeEmulator,
  startStripeEmulator,
  StripeEmulator,
  type StripeEmulatorOptions,
} from "./emulator.ts";
export type { RenewOptions } from "./billing.ts";
export { CATALOG, DEFAULT_PRICE_ID } from "./catalog.ts";
export { type CompleteCheckoutOptions, TEST_ADDRESS } from "./checkout.ts";
export type { ClockAdvance } from "./clock.ts";
export type { SubscriptionControl } from "./control.ts";
export { GRANTING_STATUSES } from "./entitlements.ts";
export type { Fault } from "./faults.ts";
export { PORTAL_CONFIGURATION_ID } from "./portal.ts";
export type { RecordedRequest } from "./recorder.ts";
export type { SeedCustomer, SeedOptions, SeedResult } from "./seeding.ts";
export type { HandEdit } from "./subscriptions.ts";
export { API_VERSION } from "./version.ts";
export { type DeliveryAttempt, signPayload } from "./webhooks.ts";
