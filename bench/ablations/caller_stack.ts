/**
 * `withoutCallerStack`: it set `Error.stackTraceLimit = 0` around each Stripe call, to spare the
 * SDK capturing its caller's stack. Here the same effect, process-wide, by V8's flag.
 */
import type { BenchEnvironment } from "../environment.ts";
import type { Row } from "../tables.ts";
import { CHECKOUT_FIRST, compareVariants, webhookRate } from "./variants.ts";

/** The checkout's and the webhook's figures with and without stack capture. */
export function measureCallerStack(env: BenchEnvironment): Promise<Row[]> {
  return compareVariants(
    env,
    "withoutCallerStack",
    [CHECKOUT_FIRST, webhookRate(1, 30), ...(env.onServer ? [webhookRate(16, 160)] : [])],
    { without: {}, with: { denoFlags: ["--v8-flags=--stack-trace-limit=0"] } },
  );
}
