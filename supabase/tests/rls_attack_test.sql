-- An attacker holding a user's token (or none) reads nothing but that user's profile and writes
-- nothing at all; and the catalog itself is checked so that a future table, column grant or
-- function exposed to the API roles fails here. Plain database only: the quickstart's own
-- policies and grants open what this file proves closed (billing_guard_test.sql,
-- billing_tables_test.sql and read_exposures_test.sql prove what holds there).
begin;
create extension if not exists pgtap with schema extensions;
set local search_path = public, extensions;
select to_regprocedure('public.handle_new_user()') is not null as quickstart \gset
select plan(53);
\if :quickstart
select skip('plain database only: the quickstart''s own policies and grants open what this file proves closed', 53);
\else

insert into auth.users (id, email, aud, role) values
  ('a1a1a1a1-0000-4000-8000-0000000000a1', 'attacker@example.com', 'authenticated', 'authenticated'),
  ('b2b2b2b2-0000-4000-8000-0000000000b2', 'victim@example.com', 'authenticated', 'authenticated');
update public.profiles
set stripe_customer_id = 'cus_attacker', stripe_subscription_id = 'sub_attacker',
    subscription_status = 'canceled', price_id = 'price_basic'
where id = 'a1a1a1a1-0000-4000-8000-0000000000a1';
update public.profiles
set stripe_customer_id = 'cus_victim', stripe_subscription_id = 'sub_victim',
    subscription_status = 'active', price_id = 'price_basic',
    current_period_end = now() + interval '30 days'
where id = 'b2b2b2b2-0000-4000-8000-0000000000b2';
insert into public.stripe_events (id, type) values ('evt_rls_attack', 'invoice.paid');

-- ---- A signed-in attacker, as PostgREST runs their requests -----------------------------------
set local role authenticated;
set local request.jwt.claims = '{"sub":"a1a1a1a1-0000-4000-8000-0000000000a1","role":"authenticated"}';

select results_eq(
  $$select id from public.profiles$$,
  $$values ('a1a1a1a1-0000-4000-8000-0000000000a1'::uuid)$$,
  'a signed-in user reads exactly one profile, their own'
);
select is_empty(
  $$select 1 from public.profiles where id = 'b2b2b2b2-0000-4000-8000-0000000000b2'$$,
  'a signed-in user cannot read another user''s profile by id'
);
select throws_ok(
  $$insert into public.profiles (id, email)
    values ('c3c3c3c3-0000-4000-8000-0000000000c3', 'mallory@example.com')$$,
  '42501', null, 'a signed-in user cannot insert a profile'
);
select throws_ok(
  $$insert into public.profiles (id, subscription_status)
    values ('a1a1a1a1-0000-4000-8000-0000000000a1', 'active')
    on conflict (id) do update set subscription_status = excluded.subscription_status$$,
  '42501', null, 'a signed-in user cannot upsert their own profile to active'
);
select throws_ok(
  format(
    'update public.profiles set %I = %s where id = %L',
    col, val, 'a1a1a1a1-0000-4000-8000-0000000000a1'
  ),
  '42501', null, format('a signed-in user cannot update their own %s', col)
)
from (values
  ('stripe_customer_id', $$'cus_victim'$$),
  ('stripe_subscription_id', $$'sub_victim'$$),
  ('subscription_status', $$'active'$$),
  ('price_id', $$'price_premium'$$),
  ('current_period_end', $$now() + interval '100 years'$$),
  ('cancel_at_period_end', 'true'),
  ('cancel_at', 'null'),
  ('canceled_at', 'null'),
  ('trial_end', $$now() + interval '100 years'$$),
  ('subscription_created_at', 'now()')
) as billing (col, val);
select throws_ok(
  $$update public.profiles set subscription_status = 'canceled'
    where id = 'b2b2b2b2-0000-4000-8000-0000000000b2'$$,
  '42501', null, 'a signed-in user cannot update another user''s profile'
);
select throws_ok(
  $$delete from public.profiles where id = 'a1a1a1a1-0000-4000-8000-0000000000a1'$$,
  '42501', null, 'a signed-in user cannot delete their own profile'
);
select throws_ok(
  $$delete from public.profiles where id = 'b2b2b2b2-0000-4000-8000-0000000000b2'$$,
  '42501', null, 'a signed-in user cannot delete another user''s profile'
);
select throws_ok(
  $$truncate public.profiles$$,
  '42501', null, 'a signed-in user cannot truncate the profiles'
);
select throws_ok(
  $$select id from public.stripe_events$$,
  '42501', null, 'a signed-in user cannot read the event ledger'
);
select throws_ok(
  $$insert into public.stripe_events (id, type) values ('evt_forged', 'invoice.paid')$$,
  '42501', null, 'a signed-in user cannot insert into the event ledger'
);
select throws_ok(
  $$insert into public.stripe_events (id, type) values ('evt_rls_attack', 'forged')
    on conflict (id) do update set type = excluded.type$$,
  '42501', null, 'a signed-in user cannot upsert into the event ledger'
);
select throws_ok(
  $$update public.stripe_events set type = 'forged'$$,
  '42501', null, 'a signed-in user cannot update the event ledger'
);
select throws_ok(
  $$delete from public.stripe_events$$,
  '42501', null, 'a signed-in user cannot delete from the event ledger'
);
select throws_ok(
  $$truncate public.stripe_events$$,
  '42501', null, 'a signed-in user cannot truncate the event ledger'
);
select is(
  public.has_active_subscription('b2b2b2b2-0000-4000-8000-0000000000b2'), false,
  'has_active_subscription says false about another user even though they are active'
);
select is(
  public.has_active_subscription(), false,
  'has_active_subscription() answers for the caller: canceled is not active'
);
-- SET ROLE checks the session user, and this session's is a superuser: become `authenticated`
-- for the session as well, so that the check is the one a connection as that role would meet.
reset role;
set local session authorization authenticated;
select throws_ok(
  $$set role service_role$$,
  '42501', null, 'a signed-in user cannot become service_role'
);
select throws_ok(
  $$set role postgres$$,
  '42501', null, 'a signed-in user cannot become postgres'
);
select throws_ok(
  $$select email from auth.users$$,
  '42501', null, 'a signed-in user cannot read auth.users'
);
reset session authorization;

-- The same caller once they are trialing: has_active_subscription() follows their own row.
update public.profiles set subscription_status = 'trialing'
where id = 'a1a1a1a1-0000-4000-8000-0000000000a1';
set local role authenticated;
select is(
  public.has_active_subscription(), true,
  'has_active_subscription() answers for the caller: trialing is active'
);

-- ---- Anonymous: the anon key and no session ----------------------------------------------------
reset role;
set local role anon;
set local request.jwt.claims = '{"role":"anon"}';

select throws_ok(
  $$select id from public.profiles$$,
  '42501', null, 'anon cannot read any profile'
);
select throws_ok(
  $$insert into public.profiles (id, email)
    values ('c3c3c3c3-0000-4000-8000-0000000000c3', 'mallory@example.com')$$,
  '42501', null, 'anon cannot insert a profile'
);
select throws_ok(
  $$insert into public.profiles (id, subscription_status)
    values ('b2b2b2b2-0000-4000-8000-0000000000b2', 'canceled')
    on conflict (id) do update set subscription_status = excluded.subscription_status$$,
  '42501', null, 'anon cannot upsert a profile'
);
select throws_ok(
  $$update public.profiles set subscription_status = 'active'$$,
  '42501', null, 'anon cannot update profiles'
);
select throws_ok(
  $$delete from public.profiles$$,
  '42501', null, 'anon cannot delete profiles'
);
select throws_ok(
  $$select id from public.stripe_events$$,
  '42501', null, 'anon cannot read the event ledger'
);
select throws_ok(
  $$insert into public.stripe_events (id, type) values ('evt_forged', 'invoice.paid')$$,
  '42501', null, 'anon cannot insert into the event ledger'
);
select throws_ok(
  $$update public.stripe_events set type = 'forged'$$,
  '42501', null, 'anon cannot update the event ledger'
);
select throws_ok(
  $$delete from public.stripe_events$$,
  '42501', null, 'anon cannot delete from the event ledger'
);
select is(
  public.has_active_subscription('b2b2b2b2-0000-4000-8000-0000000000b2'), false,
  'anon learns nothing from has_active_subscription'
);
select throws_ok(
  $$select email from auth.users$$,
  '42501', null, 'anon cannot read auth.users'
);
reset role;
set local session authorization anon;
select throws_ok(
  $$set role service_role$$,
  '42501', null, 'anon cannot become service_role'
);
select throws_ok(
  $$set role authenticated$$,
  '42501', null, 'anon cannot become authenticated'
);
reset session authorization;

-- ---- Nothing was changed by any of it -----------------------------------------------------------
reset role;

select results_eq(
  $$select id::text, stripe_customer_id, subscription_status from public.profiles
    where id in ('a1a1a1a1-0000-4000-8000-0000000000a1', 'b2b2b2b2-0000-4000-8000-0000000000b2')
    order by id$$,
  $$values ('a1a1a1a1-0000-4000-8000-0000000000a1', 'cus_attacker', 'trialing'),
           ('b2b2b2b2-0000-4000-8000-0000000000b2', 'cus_victim', 'active')$$,
  'both profiles are as the superuser left them'
);
select results_eq(
  $$select id, type from public.stripe_events where id in ('evt_rls_attack', 'evt_forged')$$,
  $$values ('evt_rls_attack', 'invoice.paid')$$,
  'the event ledger is as the superuser left it'
);

-- ---- The catalog: a future table, grant or function exposed to the API fails here --------------
select is_empty(
  $$select c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace
    where n.nspname = 'public' and c.relkind in ('r', 'p') and not c.relrowsecurity$$,
  'RLS on every public table'
);
select results_eq(
  $$select format('%s %s', privilege, c.relname::text collate "default")
    from pg_class c join pg_namespace n on n.oid = c.relnamespace,
      unnest(array['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'TRUNCATE', 'REFERENCES', 'TRIGGER'])
        as privilege
    where n.nspname = 'public' and c.relkind in ('r', 'p', 'v', 'm', 'f')
      and has_table_privilege('anon', c.oid, privilege)
    order by 1$$,
  $$values ('SELECT billing_plans')$$,
  'anon has only SELECT on billing_plans among public tables and views'
);
select results_eq(
  $$select format('%s %s', privilege, c.relname::text collate "default")
    from pg_class c join pg_namespace n on n.oid = c.relnamespace,
      unnest(array['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'TRUNCATE', 'REFERENCES', 'TRIGGER'])
        as privilege
    where n.nspname = 'public' and c.relkind in ('r', 'p', 'v', 'm', 'f')
      and has_table_privilege('authenticated', c.oid, privilege)
    order by 1$$,
  $$values ('SELECT billing_plans'), ('SELECT profiles')$$,
  'authenticated has only SELECT on billing_plans and profiles among public tables and views'
);
select is_empty(
  $$select role, c.relname, a.attname, privilege
    from pg_class c
      join pg_namespace n on n.oid = c.relnamespace
      join pg_attribute a on a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped,
      unnest(array['anon', 'authenticated']) as role,
      unnest(array['INSERT', 'UPDATE', 'REFERENCES']) as privilege
    where n.nspname = 'public' and c.relkind in ('r', 'p', 'v', 'm', 'f')
      and has_column_privilege(role, c.oid, a.attnum, privilege)$$,
  'no API role can write any column of a public table, even by a column grant'
);
select is_empty(
  $$select c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace
    where n.nspname = 'public' and c.relkind = 'S'
      and (has_sequence_privilege('anon', c.oid, 'USAGE,SELECT,UPDATE')
        or has_sequence_privilege('authenticated', c.oid, 'USAGE,SELECT,UPDATE'))$$,
  'no API role can use a public sequence'
);
select results_eq(
  $$select p.oid::regprocedure::text
    from pg_proc p join pg_namespace n on n.oid = p.pronamespace
    where n.nspname = 'public'
      and not exists (
        select 1 from pg_depend d
        where d.classid = 'pg_proc'::regclass and d.objid = p.oid and d.deptype = 'e'
      )
      and has_function_privilege('anon', p.oid, 'EXECUTE')
    order by 1$$,
  $$values ('has_active_subscription(uuid)'), ('has_entitlement(text,uuid)')$$,
  'anon can execute only the two security invoker helpers in public'
);
select results_eq(
  $$select p.oid::regprocedure::text
    from pg_proc p join pg_namespace n on n.oid = p.pronamespace
    where n.nspname = 'public'
      and not exists (
        select 1 from pg_depend d
        where d.classid = 'pg_proc'::regclass and d.objid = p.oid and d.deptype = 'e'
      )
      and has_function_privilege('authenticated', p.oid, 'EXECUTE')
    order by 1$$,
  $$values ('has_active_subscription(uuid)'), ('has_entitlement(text,uuid)')$$,
  'authenticated can execute only the two security invoker helpers in public'
);
select is_empty(
  $$select p.oid::regprocedure::text
    from pg_proc p join pg_namespace n on n.oid = p.pronamespace
    where n.nspname = 'public' and p.prosecdef
      and not exists (
        select 1 from pg_depend d
        where d.classid = 'pg_proc'::regclass and d.objid = p.oid and d.deptype = 'e'
      )
      and (has_function_privilege('anon', p.oid, 'EXECUTE')
        or has_function_privilege('authenticated', p.oid, 'EXECUTE'))$$,
  'no security definer function in public is callable by an API role'
);

\endif

select * from finish();
rollback;
