-- The quickstart's `profiles`, adopted: its columns, policies, grants, function and trigger are
-- as the quickstart made them; its trigger still fills its columns for new users and ours adds the
-- email; users still write their own profile fields but no billing column. Quickstart database
-- only (tests/fixtures/quickstart.sql before the migrations): skipped on the plain one.
begin;
create extension if not exists pgtap with schema extensions;
set local search_path = public, extensions;
select to_regprocedure('public.handle_new_user()') is not null as quickstart \gset
select plan(16);
\if :quickstart

select results_eq(
  $$select a.attname::text collate "default",
      format_type(a.atttypid, a.atttypmod) collate "default", a.attnotnull,
      pg_get_expr(d.adbin, d.adrelid) collate "default"
    from pg_attribute a left join pg_attrdef d on d.adrelid = a.attrelid and d.adnum = a.attnum
    where a.attrelid = 'public.profiles'::regclass and a.attnum between 1 and 6
      and not a.attisdropped
    order by a.attnum$$,
  $$values ('id', 'uuid', true, null::text),
    ('updated_at', 'timestamp with time zone', false, null),
    ('username', 'text', false, null), ('full_name', 'text', false, null),
    ('avatar_url', 'text', false, null), ('website', 'text', false, null)$$,
  'the quickstart''s columns keep their order, types, nullability and (absent) defaults'
);
select is(
  (select count(*)::int from pg_attribute a
   where a.attrelid = 'public.profiles'::regclass and a.attnum > 0 and not a.attisdropped
     and col_description(a.attrelid, a.attnum) like 'billing:%'),
  13,
  'the thirteen columns billing added are marked as its own, and no column of the quickstart is'
);
select is(
  obj_description('public.profiles'::regclass, 'pg_class'), null,
  'the adopted table is not marked as billing''s'
);
select results_eq(
  $$select polname::text collate "default", polcmd::text collate "default",
      polroles::regrole[]::text[] collate "default",
      pg_get_expr(polqual, polrelid) collate "default",
      pg_get_expr(polwithcheck, polrelid) collate "default"
    from pg_policy where polrelid = 'public.profiles'::regclass and polname not like 'billing:%'
    order by polname$$,
  $$values
    ('Public profiles are viewable by everyone.', 'r', array['-'], 'true', null::text),
    ('Users can insert their own profile.', 'a', array['-'], null,
      '(( SELECT auth.uid() AS uid) = id)'),
    ('Users can update own profile.', 'w', array['-'], '(( SELECT auth.uid() AS uid) = id)',
      null)$$,
  'the quickstart''s policies are unchanged'
);
select ok(
  (select bool_and(has_table_privilege(r, 'public.profiles', p))
   from unnest(array['anon', 'authenticated']) as r,
     unnest(array['SELECT', 'INSERT', 'UPDATE', 'DELETE']) as p),
  'the grants older projects have on profiles are unchanged'
);
select ok(
  (select prosrc like '%insert into public.profiles (id, full_name, avatar_url)%' and prosecdef
   from pg_proc where oid = 'public.handle_new_user()'::regprocedure),
  'the quickstart''s handle_new_user is unchanged'
);
select ok(
  exists (select 1 from pg_trigger
    where tgrelid = 'auth.users'::regclass and tgname = 'on_auth_user_created'
      and tgfoid = 'public.handle_new_user()'::regprocedure and tgenabled = 'O'),
  'the quickstart''s on_auth_user_created trigger is unchanged'
);

-- Sign-up: both triggers, whichever order.
insert into auth.users (id, email, raw_user_meta_data) values (
  'a1a1a1a1-0000-4000-8000-00000000c001', 'quick@example.com',
  '{"full_name": "Quick Start", "avatar_url": "https://example.com/a.png"}'
);
select results_eq(
  $$select full_name, avatar_url, email, stripe_customer_id, subscription_status,
      cancel_at_period_end, entitlements
    from public.profiles where id = 'a1a1a1a1-0000-4000-8000-00000000c001'$$,
  $$values ('Quick Start', 'https://example.com/a.png', 'quick@example.com', null::text,
    null::text, false, '{}'::text[])$$,
  'a new user gets one profile: the quickstart''s columns from its trigger, the email from ours'
);
insert into auth.users (id, email) values
  ('b2b2b2b2-0000-4000-8000-00000000c002', 'other-quick@example.com');
-- Active, so that has_active_subscription() answering false for them below is the guard at work.
update public.profiles
set username = 'other', stripe_customer_id = 'cus_other_quick', subscription_status = 'active'
where id = 'b2b2b2b2-0000-4000-8000-00000000c002';

-- A signed-in user, through the quickstart's policies and grants.
set local role authenticated;
set local request.jwt.claims = '{"sub":"a1a1a1a1-0000-4000-8000-00000000c001","role":"authenticated"}';
select lives_ok(
  $$update public.profiles set username = 'quickstart', website = 'https://example.com'
    where id = 'a1a1a1a1-0000-4000-8000-00000000c001'$$,
  'a user still updates their own profile fields'
);
select results_eq(
  $$select username from public.profiles where id = 'b2b2b2b2-0000-4000-8000-00000000c002'$$,
  $$values ('other')$$,
  'a user still reads other users'' public fields, as the quickstart allows'
);
select throws_ok(
  $$update public.profiles set subscription_status = 'active'
    where id = 'a1a1a1a1-0000-4000-8000-00000000c001'$$,
  '42501', null, 'a user cannot make their own subscription active'
);
select throws_ok(
  $$update public.profiles set stripe_customer_id = 'cus_other_quick'
    where id = 'a1a1a1a1-0000-4000-8000-00000000c001'$$,
  '42501', null, 'a user cannot take another user''s Stripe customer'
);
select is(
  (select count(*)::int from public.profiles
   where id = 'b2b2b2b2-0000-4000-8000-00000000c002'
     and (select public.has_active_subscription('b2b2b2b2-0000-4000-8000-00000000c002')) = false),
  1,
  'a user who can read another profile still learns nothing from has_active_subscription'
);
reset role;
delete from public.profiles where id = 'a1a1a1a1-0000-4000-8000-00000000c001';
set local role authenticated;
select throws_ok(
  $$insert into public.profiles (id, username, subscription_status)
    values ('a1a1a1a1-0000-4000-8000-00000000c001', 'again', 'active')$$,
  '42501', null, 'a user cannot insert their own profile with a subscription status'
);
select lives_ok(
  $$insert into public.profiles (id, username)
    values ('a1a1a1a1-0000-4000-8000-00000000c001', 'again')$$,
  'a user still inserts their own profile, as the quickstart allows'
);
reset role;
select results_eq(
  $$select username, subscription_status, stripe_customer_id from public.profiles
    where id in ('a1a1a1a1-0000-4000-8000-00000000c001', 'b2b2b2b2-0000-4000-8000-00000000c002')
    order by id$$,
  $$values ('again', null::text, null::text), ('other', 'active', 'cus_other_quick')$$,
  'what the user wrote is stored; no billing column changed'
);

\else
select skip('quickstart database only: the plain database has no quickstart schema', 16);
\endif

select * from finish();
rollback;
