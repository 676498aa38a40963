/**
 * User tasks: what Stripe must be told about users, recorded by triggers on `auth.users` in the
 * same transaction as the change (SPEC "Account lifecycle"). A deleted user's live subscriptions
 * are canceled at once without proration and the customer is marked `deleted: "true"` (it stays,
 * for invoices and tax records); a changed email reaches the customer. Each Stripe write carries
 * an idempotency key made from the task, so a task retried after a failure acts at most once.
 */
import { type Database, rowsOf } from "../_shared/db.ts";
import { redact } from "../_shared/log.ts";
import { statement } from "../_shared/pg/mod.ts";
import { isMissingObject, type Stripe } from "../_shared/stripe.ts";
import { isLive } from "../_shared/subscription.ts";

/** Tasks one unit of the pass takes at most. */
export const TASKS_PER_UNIT = 10;

/** A pending task, as the sync reads it. */
export interface UserTask {
  id: number;
  kind: "cancel_customer" | "update_email";
  userId: string;
  customerId: string;
  email: string | null;
  /** A newer email change of the same customer exists; this one must not overwrite it. */
  superseded: boolean;
}

/** Pending tasks after `afterId`, oldest first, at most `limit`. */
export async function pendingTasks(
  db: Database,
  afterId: number,
  limit = TASKS_PER_UNIT,
): Promise<UserTask[]> {
  const rows = rowsOf<{
    id: string;
    kind: UserTask["kind"];
    user_id: string;
    customer_id: string;
    email: string | null;
    superseded: boolean;
  }>(
    await db.query(statement`
      select t.id::text as id, t.kind, t.user_id, t.customer_id, t.email,
        t.kind = 'update_email' and exists (
          select 1 from public.billing_tasks newer
          where newer.kind = 'update_email' and newer.customer_id = t.customer_id
            and newer.id > t.id
        ) as superseded
      from public.billing_tasks t
      where t.done_at is null and t.id > ${afterId}
      order by t.id
      limit ${limit}`),
  );
  return rows.map((row) => ({
    id: Number(row.id),
    kind: row.kind,
    userId: row.user_id,
    customerId: row.customer_id,
    email: row.email,
    superseded: row.superseded,
  }));
}

/** Records a task's attempt: done, or failed with the reason (it stays for the next pass). */
async function recordAttempt(db: Database, task: UserTask, error: string | null): Promise<void> {
  await db.query(statement`
    update public.billing_tasks set
      attempts = attempts + 1,
      last_attempt_at = now(),
      last_error = ${error},
      done_at = case when ${error === null} then now() end
    where id = ${task.id}`);
}

/** Cancels the customer's live subscriptions and marks it deleted; Stripe lists one page. */
async function cancelCustomer(stripe: Stripe, task: UserTask): Promise<void> {
  const subscriptions = await stripe.subscriptions.list({
    customer: task.customerId,
    status: "all",
    limit: 100,
  });
  for (const subscription of subscriptions.data) {
    if (!isLive(subscription.status) && subscription.status !== "incomplete") continue;
    await stripe.subscriptions.cancel(
      subscription.id,
      { prorate: false, invoice_now: false },
      { idempotencyKey: `task:${task.id}:cancel:${subscription.id}` },
    );
  }
  await stripe.customers.update(
    task.customerId,
    { metadata: { deleted: "true" } },
    { idempotencyKey: `task:${task.id}:mark-deleted` },
  );
}

async function updateEmail(stripe: Stripe, task: UserTask): Promise<void> {
  if (task.superseded || task.email === null) return;
  await stripe.customers.update(
    task.customerId,
    { email: task.email },
    { idempotencyKey: `task:${task.id}:email` },
  );
}

/** A failure as the task row keeps it: its kind and message, redacted, at most 500 characters. */
function describeFailure(error: unknown): string {
  if (!(error instanceof Error)) return redact(String(error)).slice(0, 500);
  const kind = "type" in error && typeof error.type === "string" ? error.type : error.name;
  return redact(`${kind}: ${error.message}`).slice(0, 500);
}

/** How one task ended. */
export type TaskOutcome = "done" | "failed";

/**
 * Runs one task and records how it ended. A customer Stripe no longer has needs nothing more;
 * any other failure is recorded with its reason and the task stays for the next pass.
 */
export async function runTask(
  deps: { stripe: Stripe; db: Database },
  task: UserTask,
): Promise<{ outcome: TaskOutcome; error: string | null }> {
  let error: string | null = null;
  try {
    if (task.kind === "cancel_customer") await cancelCustomer(deps.stripe, task);
    else await updateEmail(deps.stripe, task);
  } catch (caught) {
    if (!isMissingObject(caught)) error = describeFailure(caught);
  }
  await recordAttempt(deps.db, task, error);
  return { outcome: error === null ? "done" : "failed", error };
}
