/**
 * The README's scheduling SQL, run against stand-ins for Vault, pg_cron and pg_net (Supabase's
 * extensions; pg_net is not packaged for this machine): it stores the secrets, schedules a job,
 * and the job's call, made for real against the sync handler, is accepted and runs a pass.
 */
import assert from "node:assert/strict";
import { SYNC_SECRET } from "./_support/harness.ts";
import { withFreshHarness } from "./_support/sync.ts";

const README = new URL("../README.md", import.meta.url);

/** The SQL block that follows the README's `schedule-sql` marker. */
async function scheduleSql(): Promise<string> {
  const text = await Deno.readTextFile(README);
  const match = /<!-- schedule-sql[^>]*-->\s*```sql\n([\s\S]*?)```/.exec(text);
  assert.ok(match?.[1], "the README has no schedule-sql block");
  return match[1];
}

/** The extensions' functions, with their real signatures, recording what they are asked. */
const STAND_INS = `
  create schema vault;
  create table vault.secrets (name text primary key, secret text not null);
  create function vault.create_secret(
    new_secret text, new_name text default null, new_description text default '',
    new_key_id uuid default null
  ) returns uuid language sql as $$
    insert into vault.secrets values (new_name, new_secret);
    select gen_random_uuid();
  $$;
  create view vault.decrypted_secrets as
    select name, secret as decrypted_secret from vault.secrets;

  create schema cron;
  create table cron.job (jobid bigserial, jobname text unique, schedule text, command text);
  create function cron.schedule(job_name text, schedule text, command text)
  returns bigint language sql as $$
    insert into cron.job (jobname, schedule, command) values (job_name, schedule, command)
    returning jobid;
  $$;

  create schema net;
  create table net.requests (
    id bigserial, url text, body jsonb, params jsonb, headers jsonb, timeout_milliseconds int
  );
  create function net.http_post(
    url text, body jsonb default '{}'::jsonb, params jsonb default '{}'::jsonb,
    headers jsonb default '{"Content-Type": "application/json"}'::jsonb,
    timeout_milliseconds int default 5000
  ) returns bigint language sql as $$
    insert into net.requests (url, body, params, headers, timeout_milliseconds)
    values (url, body, params, headers, timeout_milliseconds)
    returning id;
  $$;
`;

Deno.test({
  name:
    "the README's scheduling SQL keeps the secret in Vault and schedules a call that stripe-sync accepts",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: () =>
    withFreshHarness(async (h) => {
      const sql = (await scheduleSql())
        .replace("https://<project-ref>.supabase.co", "https://abcdefghijklmnop.supabase.co")
        .replace("<your BILLING_SYNC_SECRET>", SYNC_SECRET);
      assert.ok(!sql.includes("<"), "a placeholder of the README was not filled in");
      await h.sql.unsafe(STAND_INS);
      await h.sql.unsafe(sql);

      const jobs = await h.sql<{ jobname: string; schedule: string; command: string }[]>`
        select jobname, schedule, command from cron.job`;
      assert.equal(jobs.length, 1);
      const [job] = jobs;
      assert.ok(job);
      assert.equal(job.jobname, "billing-stripe-sync");
      assert.equal(job.schedule, "* * * * *");
      assert.ok(!job.command.includes(SYNC_SECRET), "the secret is in the job's text");

      await h.sql.unsafe(job.command);
      const [request] = await h.sql<
        { url: string; body: unknown; headers: Record<string, string>; timeout: number }[]
      >`select url, body, headers, timeout_milliseconds as timeout from net.requests`;
      assert.ok(request);
      assert.equal(request.url, "https://abcdefghijklmnop.supabase.co/functions/v1/stripe-sync");
      assert.ok(request.timeout >= 60_000, "pg_net would give up before a call ends");

      const response = await h.sync(
        new Request(request.url, {
          method: "POST",
          headers: request.headers,
          body: JSON.stringify(request.body),
        }),
      );
      assert.equal(response.status, 200);
      assert.equal((await response.json()).done, true);
    }),
});
