/** HTML pages for people: hosted checkout and the billing portal. */
import type { StripeEmulator } from "../stripe_emulator.ts";

/** Answers `/c/pay/:id` and `/p/session/:id`; undefined for other paths. */
export function handlePage(
  _emulator: StripeEmulator,
  _request: Request,
  _url: URL,
): Promise<Response | undefined> {
  return Promise.resolve(undefined);
}
