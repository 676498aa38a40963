-- Billing columns are written only by the functions' roles, whatever grants and policies the
-- project has: this file first opens public.profiles wide (every write granted to anon and
-- authenticated, a policy letting anyone write any row), then proves that billing columns stay
-- shut while the other columns are as writable as that makes them. Runs on both databases.
begin;
create extension if not exists pgtap with schema extensions;
set local search_path = public, extensions;
select plan(38);

insert into auth.users (id, email) values
  ('a1a1a1a1-0000-4000-8000-00000000a001', 'guard-alice@example.com'),
  ('b2b2b2b2-0000-4000-8000-00000000b002', 'guard-bob@example.com'),
  ('c3c3c3c3-0000-4000-8000-00000000c003', 'guard-carol@example.com');
update public.profiles
set stripe_customer_id = 'cus_guard_alice', stripe_subscription_id = 'sub_guard_alice',
    subscription_status = 'canceled', entitlements = array['basic']
where id = 'a1a1a1a1-0000-4000-8000-00000000a001';
-- Carol has no profile yet: inserts are tried with her id.
delete from public.profiles where id = 'c3c3c3c3-0000-4000-8000-00000000c003';

-- The widest a project could make it.
grant select, insert, update, delete, truncate on public.profiles to anon, authenticated;
create policy "test: anyone writes any profile" on public.profiles
  for all to anon, authenticated using (true) with check (true);
create role billing_test_app nologin;
grant select, insert, update, delete on public.profiles to billing_test_app;
create policy "test: the app role writes any profile" on public.profiles
  for all to billing_test_app using (true) with check (true);
-- Like Supabase's `postgres`: not a superuser, but bypasses row-level security.
create role billing_test_owner nologin bypassrls;
grant select, insert, update, delete on public.profiles to billing_test_owner;
-- pgTAP lives in `extensions`.
grant usage on schema extensions to billing_test_app, billing_test_owner;

select has_trigger('public', 'profiles', 'billing_guard_profile_columns', 'the guard is on profiles');
select has_trigger(
  'public', 'profiles', 'billing_guard_profile_truncate', 'the truncate guard is on profiles'
);

-- ---- A signed-in user on their own row ---------------------------------------------------------
set local role authenticated;
set local request.jwt.claims = '{"sub":"a1a1a1a1-0000-4000-8000-00000000a001","role":"authenticated"}';

select throws_ok(
  format('update public.profiles set %I = %s where id = %L',
    col, val, 'a1a1a1a1-0000-4000-8000-00000000a001'),
  '42501',
  format('Column "%s" of public.profiles is written only by the billing functions', col),
  format('a signed-in user cannot change their own %s', col)
)
from (values
  ('stripe_customer_id', $$'cus_victim'$$),
  ('stripe_subscription_id', $$'sub_victim'$$),
  ('subscription_status', $$'active'$$),
  ('price_id', $$'price_premium'$$),
  ('current_period_end', $$now() + interval '100 years'$$),
  ('cancel_at_period_end', 'true'),
  ('cancel_at', 'now()'),
  ('canceled_at', 'now()'),
  ('trial_end', $$now() + interval '100 years'$$),
  ('subscription_created_at', 'now()'),
  ('entitlements', $$array['basic', 'premium']$$)
) as billing (col, val);

select throws_ok(
  $$update public.profiles set stripe_customer_id = null
    where id = 'a1a1a1a1-0000-4000-8000-00000000a001'$$,
  '42501', null, 'a signed-in user cannot clear their Stripe customer'
);
select throws_ok(
  $$insert into public.profiles (id, subscription_status)
    values ('c3c3c3c3-0000-4000-8000-00000000c003', 'active')$$,
  '42501', null, 'a signed-in user cannot insert a profile with a subscription status'
);
select throws_ok(
  $$insert into public.profiles (id, entitlements)
    values ('c3c3c3c3-0000-4000-8000-00000000c003', array['premium'])$$,
  '42501', null, 'a signed-in user cannot insert a profile with entitlements'
);
select throws_ok(
  $$insert into public.profiles (id, email) values ('a1a1a1a1-0000-4000-8000-00000000a001', 'x')
    on conflict (id) do update set subscription_status = 'active'$$,
  '42501', null, 'a signed-in user cannot upsert a subscription status'
);
select throws_ok(
  $$delete from public.profiles where id = 'a1a1a1a1-0000-4000-8000-00000000a001'$$,
  '42501', null, 'a signed-in user cannot delete a profile that holds billing data'
);
select lives_ok(
  $$update public.profiles set email = 'alice@new.example'
    where id = 'a1a1a1a1-0000-4000-8000-00000000a001'$$,
  'a signed-in user still changes a column that is not billing, as the grants allow'
);
select lives_ok(
  $$update public.profiles set email = email, subscription_status = subscription_status,
      entitlements = entitlements
    where id = 'a1a1a1a1-0000-4000-8000-00000000a001'$$,
  'an update that leaves billing columns as they are passes'
);
select lives_ok(
  $$insert into public.profiles (id, email, cancel_at_period_end, entitlements)
    values ('c3c3c3c3-0000-4000-8000-00000000c003', 'carol@example.com', false, '{}')$$,
  'a signed-in user still inserts a profile with billing columns at their defaults'
);
select lives_ok(
  $$delete from public.profiles where id = 'c3c3c3c3-0000-4000-8000-00000000c003'$$,
  'a signed-in user still deletes a profile without billing data, as the policies allow'
);

select throws_ok(
  'truncate public.profiles',
  '42501',
  'public.profiles holds billing data: only the billing functions'' roles truncate it',
  'a signed-in user cannot truncate the profiles, even with the grant'
);

-- ---- Anonymous -----------------------------------------------------------------------------------
reset role;
set local role anon;
set local request.jwt.claims = '{"role":"anon"}';

select throws_ok(
  'truncate public.profiles', '42501', null, 'anon cannot truncate the profiles, even with the grant'
);

select throws_ok(
  $$update public.profiles set subscription_status = 'active'
    where id = 'b2b2b2b2-0000-4000-8000-00000000b002'$$,
  '42501', null, 'anon cannot set a subscription status'
);
select throws_ok(
  $$insert into public.profiles (id, stripe_customer_id)
    values ('c3c3c3c3-0000-4000-8000-00000000c003', 'cus_forged')$$,
  '42501', null, 'anon cannot insert a profile with a Stripe customer'
);
select lives_ok(
  $$update public.profiles set email = 'bob@new.example'
    where id = 'b2b2b2b2-0000-4000-8000-00000000b002'$$,
  'anon still changes a column that is not billing, as the grants allow'
);

-- ---- Another role of the project that does not bypass RLS ------------------------------------------
reset role;
set local role billing_test_app;
select throws_ok(
  $$update public.profiles set price_id = 'price_free'
    where id = 'b2b2b2b2-0000-4000-8000-00000000b002'$$,
  '42501', null, 'a project role that does not bypass RLS cannot set a price'
);

-- ---- The functions' roles --------------------------------------------------------------------------
reset role;
set local role service_role;
select lives_ok(
  $$update public.profiles set subscription_status = 'active', entitlements = array['premium']
    where id = 'b2b2b2b2-0000-4000-8000-00000000b002'$$,
  'service_role sets billing columns'
);
reset role;
set local role billing_test_owner;
select lives_ok(
  $$update public.profiles set price_id = 'price_premium'
    where id = 'b2b2b2b2-0000-4000-8000-00000000b002'$$,
  'a role that bypasses RLS, as Supabase''s postgres does, sets billing columns'
);
select lives_ok(
  $$insert into public.profiles (id, stripe_customer_id, subscription_status)
    values ('c3c3c3c3-0000-4000-8000-00000000c003', 'cus_guard_carol', 'trialing')$$,
  'a role that bypasses RLS inserts a profile with billing values'
);
reset role;
select lives_ok(
  $$update public.profiles set canceled_at = now()
    where id = 'b2b2b2b2-0000-4000-8000-00000000b002'$$,
  'the superuser sets billing columns'
);

-- ---- What is stored -------------------------------------------------------------------------------
select results_eq(
  $$select id::text, email, stripe_customer_id, subscription_status, price_id, entitlements
    from public.profiles
    where id in ('a1a1a1a1-0000-4000-8000-00000000a001', 'b2b2b2b2-0000-4000-8000-00000000b002',
      'c3c3c3c3-0000-4000-8000-00000000c003')
    order by id$$,
  $$values
    ('a1a1a1a1-0000-4000-8000-00000000a001', 'alice@new.example', 'cus_guard_alice',
      'canceled', null::text, array['basic']),
    ('b2b2b2b2-0000-4000-8000-00000000b002', 'bob@new.example', null, 'active',
      'price_premium', array['premium']),
    ('c3c3c3c3-0000-4000-8000-00000000c003', null, 'cus_guard_carol', 'trialing', null,
      '{}'::text[])$$,
  'only the functions'' roles changed billing columns; users changed their other columns'
);
select ok(
  (select (select count(*) from public.profiles
           where id = 'b2b2b2b2-0000-4000-8000-00000000b002' and canceled_at is not null) = 1),
  'the superuser''s write is stored'
);
select ok(
  not has_function_privilege('authenticated', 'public.billing_guard_profile_columns()', 'execute')
    and not has_function_privilege('anon', 'public.billing_guard_profile_columns()', 'execute'),
  'the guard function is not executable by the API roles'
);
select is(
  (select tgtype::int & (1 | 2 | 4 | 8 | 16) from pg_catalog.pg_trigger
   where tgrelid = 'public.profiles'::regclass and tgname = 'billing_guard_profile_columns'),
  1 | 2 | 4 | 8 | 16,
  'the guard fires before insert, update and delete, for each row'
);
select is(
  (select tgtype::int & (1 | 2 | 32) from pg_catalog.pg_trigger
   where tgrelid = 'public.profiles'::regclass and tgname = 'billing_guard_profile_truncate'),
  2 | 32,
  'the guard fires before truncate, for the statement'
);
select is(
  (select prosecdef from pg_catalog.pg_proc
   where oid = 'public.billing_guard_profile_columns()'::regprocedure),
  false,
  'the guard is security invoker, so it judges the writer'
);

select * from finish();
rollback;
