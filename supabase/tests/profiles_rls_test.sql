-- A signed-in user reads only their own profile and writes none; anon sees and writes nothing.
-- Plain database only: on the quickstart's, its own policies and grants let users read every
-- profile and write their own non-billing columns (billing_guard_test.sql and
-- quickstart_test.sql cover that database).
begin;
create extension if not exists pgtap with schema extensions;
set local search_path = public, extensions;
select to_regprocedure('public.handle_new_user()') is not null as quickstart \gset
select plan(30);
\if :quickstart
select skip('plain database only: the quickstart''s own policies let users read every profile', 30);
\else

insert into auth.users (id, email, aud, role) values
  ('a1a1a1a1-0000-4000-8000-000000000001', 'alice@example.com', 'authenticated', 'authenticated'),
  ('b2b2b2b2-0000-4000-8000-000000000002', 'bob@example.com', 'authenticated', 'authenticated');
update public.profiles
set stripe_customer_id = 'cus_' || left(id::text, 8),
    stripe_subscription_id = 'sub_' || left(id::text, 8),
    subscription_status = 'active'
where id in ('a1a1a1a1-0000-4000-8000-000000000001', 'b2b2b2b2-0000-4000-8000-000000000002');

-- Alice, as PostgREST runs her requests.
set local role authenticated;
set local request.jwt.claims = '{"sub":"a1a1a1a1-0000-4000-8000-000000000001","role":"authenticated"}';

select results_eq(
  $$select id from public.profiles$$,
  $$values ('a1a1a1a1-0000-4000-8000-000000000001'::uuid)$$,
  'a user reads exactly their own profile'
);
select is_empty(
  $$select 1 from public.profiles where id = 'b2b2b2b2-0000-4000-8000-000000000002'$$,
  'a user cannot read another user''s profile'
);
select throws_ok(
  $$insert into public.profiles (id, email)
    values ('c3c3c3c3-0000-4000-8000-000000000003', 'mallory@example.com')$$,
  '42501', null, 'a user cannot insert a profile'
);
select throws_ok(
  format(
    'update public.profiles set %I = %s where id = %L',
    col, val, 'a1a1a1a1-0000-4000-8000-000000000001'
  ),
  '42501', null, format('a user cannot update their own %s', col)
)
from (values
  ('email', quote_literal('alice@evil.example')),
  ('stripe_customer_id', quote_literal('cus_other')),
  ('stripe_subscription_id', quote_literal('sub_other')),
  ('subscription_status', quote_literal('active')),
  ('price_id', quote_literal('price_free')),
  ('current_period_end', quote_literal('2099-01-01')),
  ('cancel_at_period_end', 'true'),
  ('cancel_at', 'null'),
  ('canceled_at', 'null'),
  ('trial_end', quote_literal('2099-01-01')),
  ('subscription_created_at', 'now()'),
  ('created_at', 'now()'),
  ('updated_at', 'now()')
) as columns (col, val);
select throws_ok(
  $$update public.profiles set subscription_status = 'active'
    where id = 'b2b2b2b2-0000-4000-8000-000000000002'$$,
  '42501', null, 'a user cannot update another user''s profile'
);
select throws_ok(
  $$delete from public.profiles where id = 'a1a1a1a1-0000-4000-8000-000000000001'$$,
  '42501', null, 'a user cannot delete their own profile'
);
select throws_ok(
  $$insert into public.profiles (id, subscription_status)
    values ('a1a1a1a1-0000-4000-8000-000000000001', 'active')
    on conflict (id) do update set subscription_status = excluded.subscription_status$$,
  '42501', null, 'a user cannot upsert their own profile'
);
select throws_ok(
  $$select public.billing_handle_new_user()$$,
  '42501', null, 'a user cannot call the profile trigger function'
);
select throws_ok(
  $$select public.billing_handle_user_email_change()$$,
  '42501', null, 'a user cannot call the email trigger function'
);

-- Anonymous requests.
reset role;
set local role anon;
set local request.jwt.claims = '{"role":"anon"}';

select throws_ok(
  $$select * from public.profiles$$, '42501', null, 'anon cannot read profiles'
);
select throws_ok(
  $$insert into public.profiles (id) values ('c3c3c3c3-0000-4000-8000-000000000003')$$,
  '42501', null, 'anon cannot insert a profile'
);
select throws_ok(
  $$update public.profiles set subscription_status = 'active'$$,
  '42501', null, 'anon cannot update profiles'
);
select throws_ok(
  $$delete from public.profiles$$, '42501', null, 'anon cannot delete profiles'
);
select throws_ok(
  $$select public.billing_handle_new_user()$$,
  '42501', null, 'anon cannot call the profile trigger function'
);
select is(
  public.has_active_subscription('a1a1a1a1-0000-4000-8000-000000000001'), false,
  'anon learns nothing from has_active_subscription'
);

-- The functions' role sees and writes everything.
reset role;
set local role service_role;

select is(
  (select count(*) from public.profiles
   where id in ('a1a1a1a1-0000-4000-8000-000000000001', 'b2b2b2b2-0000-4000-8000-000000000002')),
  2::bigint,
  'service_role reads every profile'
);
select lives_ok(
  $$update public.profiles set subscription_status = 'past_due'
    where id = 'b2b2b2b2-0000-4000-8000-000000000002'$$,
  'service_role updates a profile'
);
reset role;
select is(
  (select subscription_status from public.profiles
   where id = 'b2b2b2b2-0000-4000-8000-000000000002'),
  'past_due',
  'the service_role update is stored'
);

\endif

select * from finish();
rollback;
