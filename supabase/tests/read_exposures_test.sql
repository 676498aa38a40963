-- billing_read_exposures() finds every policy, grant and view through which anon or a signed-in
-- user reads other users' billing columns, and nothing else: the quickstart's "viewable by
-- everyone" policy is found, and the README's fix for it leaves nothing to find. Runs on both
-- databases; the first part differs between them.
begin;
create extension if not exists pgtap with schema extensions;
set local search_path = public, extensions;
select to_regprocedure('public.handle_new_user()') is not null as quickstart \gset
select plan(16);

select ok(
  not has_function_privilege(r, 'public.billing_read_exposures()', 'execute'),
  format('%s cannot execute billing_read_exposures', r)
)
from unnest(array['public', 'anon', 'authenticated']) as r;
select ok(
  has_function_privilege('service_role', 'public.billing_read_exposures()', 'execute'),
  'service_role can execute billing_read_exposures'
);

insert into auth.users (id, email) values
  ('a1a1a1a1-0000-4000-8000-00000000d001', 'exposed@example.com');
update public.profiles set stripe_customer_id = 'cus_exposed', subscription_status = 'active'
where id = 'a1a1a1a1-0000-4000-8000-00000000d001';

\if :quickstart
select results_eq(
  $$select kind, object, roles from public.billing_read_exposures()$$,
  $$values ('policy', 'policy "Public profiles are viewable by everyone." on public.profiles',
    array['anon', 'authenticated'])$$,
  'the quickstart''s "viewable by everyone" policy exposes billing columns to anon and users'
);

-- The README's fix ("Installing into an existing project"), as written there.
create view public.public_profiles as
  select id, username, full_name, avatar_url, website, updated_at from public.profiles;
revoke all on public.public_profiles from public, anon, authenticated;
grant select on public.public_profiles to anon, authenticated;
drop policy "Public profiles are viewable by everyone." on public.profiles;

select is_empty(
  $$select * from public.billing_read_exposures()$$,
  'after the README''s fix nothing is exposed'
);
set local role anon;
set local request.jwt.claims = '{"role":"anon"}';
select isnt_empty(
  $$select username, full_name, avatar_url from public.public_profiles$$,
  'after the fix anon still reads public profile fields, from the view'
);
select is_empty(
  $$select stripe_customer_id from public.profiles$$,
  'after the fix anon reads no billing column'
);
reset role;
set local role authenticated;
set local request.jwt.claims = '{"sub":"a1a1a1a1-0000-4000-8000-00000000d001","role":"authenticated"}';
select results_eq(
  $$select id::text, stripe_customer_id from public.profiles$$,
  $$values ('a1a1a1a1-0000-4000-8000-00000000d001', 'cus_exposed')$$,
  'after the fix a user reads their own billing columns and no one else''s'
);
reset role;
\else
select is_empty(
  $$select * from public.billing_read_exposures()$$,
  'the plain database exposes nothing'
);
grant select on public.profiles to anon;
create policy "test: viewable by everyone" on public.profiles for select using (true);
select results_eq(
  $$select kind, object, roles, columns from public.billing_read_exposures()$$,
  $$values ('policy', 'policy "test: viewable by everyone" on public.profiles',
    array['anon', 'authenticated'], array['cancel_at', 'cancel_at_period_end', 'canceled_at',
      'current_period_end', 'email', 'entitlements', 'price_id', 'stripe_customer_id',
      'stripe_subscription_id', 'subscription_created_at', 'subscription_status', 'trial_end'])$$,
  'a "viewable by everyone" policy with select grants is found, with the columns it exposes'
);
drop policy "test: viewable by everyone" on public.profiles;
select is_empty(
  $$select * from public.billing_read_exposures()$$,
  'a grant without a policy that opens other rows exposes nothing'
);
select pass('the plain database has no quickstart policy to fix');
select pass('the plain database has no public profile fields');
\endif

-- From here both databases start with nothing exposed and select granted to both API roles. (On
-- the quickstart's, default privileges grant every new view to them: each test view is revoked
-- first, then granted as the test needs.)
grant select on public.profiles to anon, authenticated;

create policy "test: own row" on public.profiles for select to anon, authenticated
  using (auth.uid() = id);
select is_empty(
  $$select * from public.billing_read_exposures()$$,
  'a policy limited to the caller''s own row is not an exposure'
);
drop policy "test: own row" on public.profiles;

create policy "test: own row or any with email" on public.profiles for select
  using ((select auth.uid()) = id or email is not null);
select results_eq(
  $$select kind, object, roles from public.billing_read_exposures()$$,
  $$values ('policy', 'policy "test: own row or any with email" on public.profiles',
    array['anon', 'authenticated'])$$,
  'a policy that also opens other rows (OR) is found'
);
create policy "test: own row only" on public.profiles as restrictive for select
  to anon, authenticated using ((select auth.uid()) = id);
select is_empty(
  $$select * from public.billing_read_exposures()$$,
  'a restrictive own-row policy closes what a permissive one opens'
);
drop policy "test: own row only" on public.profiles;

revoke select on public.profiles from anon, authenticated;
grant select (id) on public.profiles to anon, authenticated;
select is_empty(
  $$select * from public.billing_read_exposures()$$,
  'an open policy is no exposure where the roles may select no billing column'
);
grant select (subscription_status) on public.profiles to anon;
select results_eq(
  $$select roles, columns from public.billing_read_exposures()$$,
  $$values (array['anon'], array['subscription_status'])$$,
  'a column grant of one billing column is found, for that role and column'
);
drop policy "test: own row or any with email" on public.profiles;

create view public.test_billing_view as
  select id, subscription_status from public.profiles;
revoke all on public.test_billing_view from anon, authenticated;
grant select on public.test_billing_view to anon;
create view public.test_invoker_view with (security_invoker = true) as
  select id, price_id from public.profiles;
revoke all on public.test_invoker_view from anon, authenticated;
grant select on public.test_invoker_view to anon;
create view public.test_public_view as select id from public.profiles;
revoke all on public.test_public_view from anon, authenticated;
grant select on public.test_public_view to anon;
create materialized view public.test_billing_matview as
  select id, entitlements from public.profiles;
revoke all on public.test_billing_matview from anon, authenticated;
grant select on public.test_billing_matview to authenticated;
select results_eq(
  $$select kind, object, roles, columns from public.billing_read_exposures()$$,
  $$values
    ('view', 'materialized view public.test_billing_matview', array['authenticated'],
      array['entitlements']),
    ('view', 'view public.test_billing_view', array['anon'], array['subscription_status'])$$,
  'views that read billing columns as their owner are found; invoker and public-only ones are not'
);
drop view public.test_billing_view;
drop materialized view public.test_billing_matview;

alter table public.profiles disable row level security;
select results_eq(
  $$select kind, roles, columns from public.billing_read_exposures()$$,
  $$values ('rls_disabled', array['anon'], array['subscription_status'])$$,
  'row-level security turned off is found, for the roles that may select billing columns'
);

select * from finish();
rollback;
