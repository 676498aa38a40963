-- The plan catalog is readable by everyone and written by the functions only; the tombstones, the
-- sync state and the user tasks are invisible to the API roles; deleting a user or changing their
-- email records what Stripe must be told. Runs on both databases (on the quickstart's, where
-- default privileges grant every new table to the API roles, this proves they were taken back).
begin;
create extension if not exists pgtap with schema extensions;
set local search_path = public, extensions;
select plan(56);

-- ---- Row-level security and privileges ----------------------------------------------------------
select ok(
  (select relrowsecurity from pg_catalog.pg_class where oid = format('public.%I', t)::regclass),
  format('RLS is on for %s', t)
)
from unnest(array['billing_plans', 'billing_deleted_customers', 'billing_sync_state',
  'billing_tasks', 'stripe_events']) as t;

select ok(
  not has_table_privilege(r, format('public.%I', t), p),
  format('%s has no %s on %s', r, p, t)
)
from unnest(array['billing_deleted_customers', 'billing_sync_state', 'billing_tasks'])
    as t,
  unnest(array['anon', 'authenticated']) as r,
  unnest(array['SELECT', 'INSERT', 'UPDATE', 'DELETE']) as p;

select ok(
  not has_sequence_privilege(r, 'public.billing_tasks_id_seq', 'USAGE,SELECT,UPDATE'),
  format('%s cannot use the tasks'' sequence', r)
)
from unnest(array['anon', 'authenticated']) as r;

select results_eq(
  $$select r, p
    from unnest(array['anon', 'authenticated']) as r,
      unnest(array['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'TRUNCATE']) as p
    where has_table_privilege(r, 'public.billing_plans', p)
    order by 1, 2$$,
  $$values ('anon', 'SELECT'), ('authenticated', 'SELECT')$$,
  'anon and authenticated may only select the plans'
);

-- ---- The catalog, as a pricing page reads it -----------------------------------------------------
insert into public.billing_plans (price_id, lookup_key, product_id, name, unit_amount, currency,
  interval, interval_count, features, is_default)
values ('price_tables_test', 'pro_monthly', 'prod_tables_test', 'Pro', 1500, 'usd', 'month', 1,
  array['projects'], true);
insert into public.billing_deleted_customers (customer_id) values ('cus_tables_deleted');

set local role anon;
set local request.jwt.claims = '{"role":"anon"}';
select results_eq(
  $$select price_id, name, features, active from public.billing_plans
    where price_id = 'price_tables_test'$$,
  $$values ('price_tables_test', 'Pro', array['projects'], true)$$,
  'anon reads the plans'
);
select throws_ok(
  $$insert into public.billing_plans (price_id, product_id, name, currency)
    values ('price_forged', 'prod_forged', 'Free forever', 'usd')$$,
  '42501', null, 'anon cannot add a plan'
);
select throws_ok(
  $$update public.billing_plans set unit_amount = 0$$, '42501', null, 'anon cannot change a plan'
);
select throws_ok(
  $$select * from public.billing_deleted_customers$$, '42501', null,
  'anon cannot read the deleted customers'
);
reset role;
set local role authenticated;
set local request.jwt.claims = '{"sub":"a1a1a1a1-0000-4000-8000-00000000e001","role":"authenticated"}';
select is(
  (select count(*) from public.billing_plans where price_id = 'price_tables_test'),
  1::bigint,
  'a signed-in user reads the plans'
);
select throws_ok(
  $$delete from public.billing_plans$$, '42501', null, 'a signed-in user cannot delete plans'
);
select throws_ok(
  $$select * from public.billing_tasks$$, '42501', null, 'a signed-in user cannot read the tasks'
);
select throws_ok(
  $$update public.billing_sync_state set lease_token = gen_random_uuid()$$, '42501', null,
  'a signed-in user cannot take the sync lease'
);
select throws_ok(
  $$select public.billing_handle_user_delete()$$, '42501', null,
  'a signed-in user cannot call the deletion trigger function'
);
reset role;

-- ---- The sync state: exactly one row --------------------------------------------------------------
select is((select count(*) from public.billing_sync_state), 1::bigint, 'the sync state has one row');
select throws_ok(
  $$insert into public.billing_sync_state (id) values (false)$$, '23514', null,
  'the sync state cannot get a second row'
);

-- ---- Tasks recorded by auth.users triggers --------------------------------------------------------
select ok(
  not has_function_privilege(r, f, 'execute'),
  format('%s cannot execute %s', r, f)
)
from unnest(array['anon', 'authenticated']) as r,
  unnest(array['public.billing_handle_user_delete()',
    'public.billing_handle_user_email_change()']) as f;

insert into auth.users (id, email) values
  ('a1a1a1a1-0000-4000-8000-00000000e001', 'tasks-customer@example.com'),
  ('b2b2b2b2-0000-4000-8000-00000000e002', 'tasks-free@example.com');
update public.profiles set stripe_customer_id = 'cus_tasks_customer'
where id = 'a1a1a1a1-0000-4000-8000-00000000e001';

-- As Supabase Auth writes auth.users: as its own role, which bypasses no RLS.
set local role supabase_auth_admin;
update auth.users set email = 'tasks-renamed@example.com'
where id = 'a1a1a1a1-0000-4000-8000-00000000e001';
reset role;
select results_eq(
  $$select kind, customer_id, email from public.billing_tasks
    where user_id = 'a1a1a1a1-0000-4000-8000-00000000e001'$$,
  $$values ('update_email', 'cus_tasks_customer', 'tasks-renamed@example.com')$$,
  'an email change of a customer records one update_email task with the new email'
);
select is(
  (select email from public.profiles where id = 'a1a1a1a1-0000-4000-8000-00000000e001'),
  'tasks-renamed@example.com',
  'an email change reaches the profile'
);
update auth.users set email = 'tasks-free-renamed@example.com'
where id = 'b2b2b2b2-0000-4000-8000-00000000e002';
select is_empty(
  $$select 1 from public.billing_tasks where user_id = 'b2b2b2b2-0000-4000-8000-00000000e002'$$,
  'an email change of a user without a customer records no task'
);
update auth.users set phone = '+15550100'
where id = 'a1a1a1a1-0000-4000-8000-00000000e001';
select is(
  (select count(*) from public.billing_tasks
   where user_id = 'a1a1a1a1-0000-4000-8000-00000000e001'),
  1::bigint,
  'an update that keeps the email records nothing'
);

set local role supabase_auth_admin;
delete from auth.users where id = 'a1a1a1a1-0000-4000-8000-00000000e001';
reset role;
select results_eq(
  $$select kind, customer_id, email, attempts, done_at from public.billing_tasks
    where user_id = 'a1a1a1a1-0000-4000-8000-00000000e001' and kind = 'cancel_customer'$$,
  $$values ('cancel_customer', 'cus_tasks_customer', 'tasks-renamed@example.com', 0,
    null::timestamptz)$$,
  'deleting a customer''s user records exactly one cancel_customer task'
);
select is_empty(
  $$select 1 from public.profiles where id = 'a1a1a1a1-0000-4000-8000-00000000e001'$$,
  'the deleted user''s profile is gone'
);
delete from auth.users where id = 'b2b2b2b2-0000-4000-8000-00000000e002';
select is_empty(
  $$select 1 from public.billing_tasks where user_id = 'b2b2b2b2-0000-4000-8000-00000000e002'$$,
  'deleting a user without a customer records no task'
);
select throws_ok(
  $$insert into public.billing_tasks (kind, user_id, customer_id)
    values ('refund_everything', gen_random_uuid(), 'cus_x')$$,
  '23514', null, 'a task is one of the known kinds'
);
select ok(
  exists (select 1 from pg_catalog.pg_indexes
    where schemaname = 'public' and indexname = 'billing_tasks_pending_idx'
      and indexdef like '%WHERE (done_at IS NULL)%'),
  'pending tasks have an index'
);

select * from finish();
rollback;
