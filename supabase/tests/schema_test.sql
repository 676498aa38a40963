-- Profiles follow auth users; RLS is on everywhere in public; trigger functions stay private.
-- Runs on both databases: plain, and the quickstart's (its table adopted).
begin;
create extension if not exists pgtap with schema extensions;
set local search_path = public, extensions;
select plan(18);

select is_empty(
  $$select c.relname from pg_catalog.pg_class c
    join pg_catalog.pg_namespace n on n.oid = c.relnamespace
    where n.nspname = 'public' and c.relkind in ('r', 'p') and not c.relrowsecurity$$,
  'RLS is enabled on every table in public'
);

insert into auth.users (id, email)
values ('e5e5e5e5-0000-4000-8000-000000000021', 'new@example.com');
select results_eq(
  $$select email, subscription_status, cancel_at_period_end from public.profiles
    where id = 'e5e5e5e5-0000-4000-8000-000000000021'$$,
  $$values ('new@example.com', null::text, false)$$,
  'inserting an auth user creates their profile'
);

update auth.users set email = 'renamed@example.com'
where id = 'e5e5e5e5-0000-4000-8000-000000000021';
select is(
  (select email from public.profiles where id = 'e5e5e5e5-0000-4000-8000-000000000021'),
  'renamed@example.com',
  'changing an auth user''s email updates their profile'
);

delete from auth.users where id = 'e5e5e5e5-0000-4000-8000-000000000021';
select is_empty(
  $$select 1 from public.profiles where id = 'e5e5e5e5-0000-4000-8000-000000000021'$$,
  'deleting an auth user deletes their profile'
);

select throws_ok(
  $$insert into public.profiles (id) values (gen_random_uuid())$$,
  '23503', null, 'a profile needs an auth user'
);

insert into auth.users (id, email)
values ('f6f6f6f6-0000-4000-8000-000000000022', 'status@example.com');
select throws_ok(
  $$update public.profiles set subscription_status = 'bogus'
    where id = 'f6f6f6f6-0000-4000-8000-000000000022'$$,
  '23514', null, 'subscription_status only takes Stripe statuses'
);

select ok(
  not has_function_privilege(role_name, function_name, 'execute'),
  format('%s cannot execute %s', role_name, function_name)
)
from unnest(array['anon', 'authenticated']) as role_name,
  unnest(array[
    'public.billing_handle_new_user()', 'public.billing_handle_user_email_change()',
    'public.billing_handle_user_delete()', 'public.billing_guard_profile_columns()'
  ]) as function_name;

select ok(
  (select bool_and(prosecdef and proconfig @> array['search_path=""'])
   from pg_catalog.pg_proc
   where oid in ('public.billing_handle_new_user()'::regprocedure,
     'public.billing_handle_user_email_change()'::regprocedure,
     'public.billing_handle_user_delete()'::regprocedure)),
  'the auth.users trigger functions are security definer with an empty search_path'
);
select ok(
  has_function_privilege('authenticated', 'public.has_active_subscription(uuid)', 'execute'),
  'authenticated can execute has_active_subscription'
);
select ok(
  has_function_privilege('anon', 'public.has_active_subscription(uuid)', 'execute'),
  'anon can execute has_active_subscription (and gets false)'
);
select results_eq(
  $$select tgname::text collate "default" from pg_catalog.pg_trigger
    where tgrelid = 'auth.users'::regclass and tgname like 'billing\_%' order by 1$$,
  $$values ('billing_on_auth_user_created'), ('billing_on_auth_user_deleted'),
    ('billing_on_auth_user_email_changed')$$,
  'the triggers on auth.users are named billing_...'
);

select * from finish();
rollback;
