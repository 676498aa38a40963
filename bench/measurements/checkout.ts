/** Checkout latency: the function's answer time over the emulator's own for the same calls. */
import { DEFAULT_PRICE_ID } from "../../dev/stripe/mod.ts";
import { type BenchEnvironment, type BenchUser, SITE_URL } from "../environment.ts";
import { percentile, round, type ServerProcess } from "../load.ts";
import { post, timed, timedCall } from "../requests.ts";
import { startFunction } from "../servers.ts";
import { columns, type Table } from "../tables.ts";

/** Sequential requests of each kind, and untimed ones first, by Stripe latency. */
export function checkoutPlan(latencyMs: number, quick: boolean) {
  if (latencyMs === 0) return quick ? { samples: 40, warmup: 10 } : { samples: 200, warmup: 20 };
  return quick ? { samples: 10, warmup: 3 } : { samples: 40, warmup: 5 };
}

/** Milliseconds of each user's first checkout (the one that creates their customer), in turn. */
export async function firstCheckoutTimes(
  server: ServerProcess,
  users: readonly BenchUser[],
): Promise<number[]> {
  const times: number[] = [];
  for (const user of users) times.push(await timed(200, () => post(server, { token: user.token })));
  return times;
}

function latencySummary(kind: string, ours: number[], emulator: number[]) {
  const p50 = percentile(ours, 50);
  const p99 = percentile(ours, 99);
  const emulatorP50 = percentile(emulator, 50);
  const emulatorP99 = percentile(emulator, 99);
  return {
    label: kind,
    kind,
    p50: round(p50),
    p99: round(p99),
    emulatorP50: round(emulatorP50),
    emulatorP99: round(emulatorP99),
    addedP50: round(p50 - emulatorP50),
    addedP99: round(p99 - emulatorP99),
  };
}

/** The same Stripe calls the function makes, straight from the SDK: the emulator's own time. */
function directCheckout(env: BenchEnvironment) {
  const sessionParams = (user: BenchUser, customer: string) => ({
    mode: "subscription" as const,
    allowed_payment_method_types: ["card" as const],
    line_items: [{ price: DEFAULT_PRICE_ID, quantity: 1 }],
    customer,
    client_reference_id: user.id,
    metadata: { userId: user.id, email: user.email },
    subscription_data: { metadata: { userId: user.id } },
    success_url: `${SITE_URL}/dashboard?checkout=success&session_id={CHECKOUT_SESSION_ID}`,
    cancel_url: `${SITE_URL}/dashboard?checkout=canceled`,
  });
  return async (user: BenchUser, customerId?: string) => {
    const customer = customerId ?? (await env.stripe.customers.create(
      { email: user.email, metadata: { userId: user.id } },
      { idempotencyKey: `customer:${user.id}:first` },
    )).id;
    await env.stripe.checkout.sessions.create(sessionParams(user, customer), {
      idempotencyKey: `checkout:${user.id}:${crypto.randomUUID()}`,
    });
    return customer;
  };
}

/** First and repeat checkouts of the function, each beside the same calls made directly. */
export async function measureCheckout(
  env: BenchEnvironment,
  settings: { quick: boolean },
): Promise<Table[]> {
  const plan = checkoutPlan(env.options.stripeLatencyMs, settings.quick);
  const direct = directCheckout(env);
  const server = await startFunction(env, "stripe-checkout");
  try {
    const warmup = await env.createUsers(plan.warmup);
    const users = await env.createUsers(plan.samples);
    const others = await env.createUsers(plan.samples);
    for (const user of warmup) {
      await timed(200, () => post(server, { token: user.token }));
      await timed(200, () => post(server, { token: user.token }));
      await direct(user);
    }
    const first = { ours: [] as number[], emulator: [] as number[] };
    const repeat = { ours: [] as number[], emulator: [] as number[] };
    const customers: string[] = [];
    for (let i = 0; i < users.length; i++) {
      first.ours.push(...await firstCheckoutTimes(server, [users[i]!]));
      const started = performance.now();
      customers.push(await direct(others[i]!));
      first.emulator.push(performance.now() - started);
    }
    for (let i = 0; i < users.length; i++) {
      repeat.ours.push(await timed(200, () => post(server, { token: users[i]!.token })));
      repeat.emulator.push(await timedCall(() => direct(others[i]!, customers[i])));
    }
    return [{
      id: "checkout",
      title: `Checkout latency (${plan.samples} sequential requests, ms)`,
      columns: columns(
        ["kind", "checkout"],
        ["p50", "ours p50"],
        ["p99", "ours p99"],
        ["emulatorP50", "emulator p50"],
        ["emulatorP99", "emulator p99"],
        ["addedP50", "added p50"],
        ["addedP99", "added p99"],
      ),
      rows: [
        latencySummary("first (creates customer)", first.ours, first.emulator),
        latencySummary("repeat", repeat.ours, repeat.emulator),
      ],
      notes: [
        "Emulator: the same Stripe calls (customer create + session create, or session create) " +
        "made directly with the SDK from the bench process.",
      ],
    }];
  } finally {
    await server.stop();
  }
}
