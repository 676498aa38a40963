/**
 * The account a sync pass runs over: many users, each with a subscription at the emulator
 * (seeded silently, as if from before anyone listened) and a profile that holds it exactly, and
 * then a share of them made to drift both ways a sync must catch.
 */
import { toProfileUpdate } from "../../supabase/functions/_shared/subscription.ts";
import type { BenchEnvironment } from "../environment.ts";

/** What was seeded, and which subscriptions drifted. */
export interface SyncAccount {
  subscriptions: string[];
  customerOf: Map<string, string>;
  drifted: Set<string>;
}

/** Creates `count` users with matching subscriptions and profiles. */
export async function seedAccount(env: BenchEnvironment, count: number): Promise<SyncAccount> {
  const users = await env.sql<{ id: string; email: string }[]>`
    insert into auth.users (email)
    select 'sync-' || g || '-' || gen_random_uuid() || '@example.com' from generate_series(1, ${count}) g
    returning id, email`;
  const emulator = env.stripeServer.emulator;
  const seeded = emulator.seed({
    customers: users.map((user) => ({
      email: user.email,
      metadata: { userId: user.id },
      subscriptionMetadata: { userId: user.id },
    })),
  });
  const rows = emulator.subscriptions().map((subscription) => {
    const update = toProfileUpdate(subscription);
    return {
      id: update.userId,
      customer_id: update.customerId,
      subscription_id: update.subscriptionId,
      status: update.status,
      price_id: update.priceId,
      current_period_end: update.currentPeriodEnd,
      cancel_at_period_end: update.cancelAtPeriodEnd,
      cancel_at: update.cancelAt,
      canceled_at: update.canceledAt,
      trial_end: update.trialEnd,
      created_at: update.createdAt,
    };
  });
  await env.sql`
    update public.profiles p set
      stripe_customer_id = x.customer_id,
      stripe_subscription_id = x.subscription_id,
      subscription_status = x.status,
      price_id = x.price_id,
      current_period_end = x.current_period_end,
      cancel_at_period_end = x.cancel_at_period_end,
      cancel_at = x.cancel_at,
      canceled_at = x.canceled_at,
      trial_end = x.trial_end,
      subscription_created_at = x.created_at,
      updated_at = now()
    from jsonb_to_recordset(${env.sql.json(rows)}::jsonb) as x(
      id uuid, customer_id text, subscription_id text, status text, price_id text,
      current_period_end timestamptz, cancel_at_period_end boolean, cancel_at timestamptz,
      canceled_at timestamptz, trial_end timestamptz, created_at timestamptz)
    where p.id = x.id`;
  return {
    subscriptions: seeded.subscriptions,
    customerOf: new Map(seeded.subscriptions.map((id, i) => [id, seeded.customers[i]!])),
    drifted: new Set(),
  };
}

/**
 * Makes one subscription in `every` drift, spread over the account: half of them by a profile
 * corrupted in SQL, half by a subscription edited at Stripe without an event.
 */
export async function addDrift(
  env: BenchEnvironment,
  account: SyncAccount,
  every: number,
): Promise<void> {
  const chosen = account.subscriptions.filter((_, i) => i % every === every - 1);
  const corrupted = chosen.filter((_, i) => i % 2 === 0);
  for (const id of chosen.filter((_, i) => i % 2 === 1)) {
    env.stripeServer.emulator.handEdit(id, { cancelAtPeriodEnd: true });
  }
  await env.sql`
    update public.profiles set subscription_status = 'past_due'
    where stripe_subscription_id = any(${corrupted})`;
  for (const id of chosen) account.drifted.add(id);
}
