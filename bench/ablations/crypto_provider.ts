/**
 * `KeyCachingCryptoProvider`: the time one `constructEventAsync` takes with it and with the SDK's
 * own Web Crypto provider, in this process, and that difference against one webhook request.
 */
import { Stripe } from "../../supabase/functions/_shared/stripe.ts";
import { type BenchEnvironment, WEBHOOK_SECRET } from "../environment.ts";
import { median } from "../load.ts";
import { post, timed } from "../requests.ts";
import { startFunction } from "../servers.ts";
import type { Row } from "../tables.ts";
import { KeyCachingCryptoProvider } from "./key_caching_crypto_provider.ts";
import { ablationRow } from "./variants.ts";

const BLOCKS = 20;
const CALLS_PER_BLOCK = 200;
const REQUESTS = 20;

type Provider = InstanceType<typeof Stripe.CryptoProvider>;

/** Microseconds per verification with `provider`, over one block of calls. */
async function verifyBlock(
  stripe: Stripe,
  event: { body: string; signature: string },
  provider: Provider,
): Promise<number> {
  const started = performance.now();
  for (let i = 0; i < CALLS_PER_BLOCK; i++) {
    await stripe.webhooks.constructEventAsync(
      event.body,
      event.signature,
      WEBHOOK_SECRET,
      undefined,
      provider,
    );
  }
  return (performance.now() - started) * 1000 / CALLS_PER_BLOCK;
}

/** Median milliseconds of one signed event through the webhook function, sequentially. */
async function webhookRequestMs(
  env: BenchEnvironment,
  event: () => Promise<{ body: string; signature: string }>,
) {
  const server = await startFunction(env, "stripe-webhook");
  try {
    const times: number[] = [];
    for (let i = 0; i < REQUESTS; i++) {
      const delivery = await event();
      times.push(await timed(200, () => post(server, delivery)));
    }
    return median(times);
  } finally {
    await server.stop();
  }
}

/** Verification time with each provider, and the saving as a share of a webhook request. */
export async function measureCryptoProvider(env: BenchEnvironment): Promise<Row[]> {
  const [subscriber] = await env.createSubscribers(1);
  const nextEvent = () => env.signedEvent(subscriber!.subscription);
  const event = await nextEvent();
  const providers = {
    sdk: Stripe.createSubtleCryptoProvider(),
    cached: new KeyCachingCryptoProvider(),
  };
  const sdk: number[] = [];
  const cached: number[] = [];
  await verifyBlock(env.stripe, event, providers.sdk);
  await verifyBlock(env.stripe, event, providers.cached);
  for (let block = 0; block < BLOCKS; block++) {
    sdk.push(await verifyBlock(env.stripe, event, providers.sdk));
    cached.push(await verifyBlock(env.stripe, event, providers.cached));
  }
  const withoutUs = median(sdk);
  const withUs = median(cached);
  const requestMs = await webhookRequestMs(env, nextEvent);
  const name = "KeyCachingCryptoProvider";
  return [
    ablationRow(name, "constructEventAsync (µs)", withoutUs, withUs, {
      higherIsBetter: false,
      judged: false,
    }),
    ablationRow(
      name,
      "one webhook request (ms)",
      requestMs,
      requestMs - (withoutUs - withUs) / 1000,
      { higherIsBetter: false },
    ),
  ];
}
