/** The Stripe emulator's public surface: the emulator, its server, and what tests name. */
export {
  type RunningStripeEmulator,
  startStripeEmulator,
  StripeEmulator,
  type StripeEmulatorOptions,
} from "./emulator.ts";
export type { SubscriptionControl } from "./control.ts";
export type { Fault } from "./faults.ts";
export type { RecordedRequest } from "./recorder.ts";
export { type CompleteCheckoutOptions, DEFAULT_PRICE_ID, type RenewOptions } from "./state.ts";
export { API_VERSION } from "./version.ts";
export { type DeliveryAttempt, signPayload } from "./webhooks.ts";
