-- has_entitlement() answers for the caller from profiles.entitlements, says nothing about other
-- users (even where the project's policies let users read other profiles), and gates another
-- table's rows inside its policy. Runs on both databases.
begin;
create extension if not exists pgtap with schema extensions;
set local search_path = public, extensions;
select plan(16);

select col_not_null('public', 'profiles', 'entitlements', 'entitlements is never null');
select col_default_is('public', 'profiles', 'entitlements', '{}'::text[],
  'entitlements defaults to none');
select is(
  (select provolatile::text || prosecdef::text || array_to_string(proconfig, ',')
   from pg_catalog.pg_proc where oid = 'public.has_entitlement(text, uuid)'::regprocedure),
  'sfalsesearch_path=""',
  'has_entitlement is stable, security invoker, with an empty search_path'
);

insert into auth.users (id, email) values
  ('a1a1a1a1-0000-4000-8000-00000000f001', 'entitled@example.com'),
  ('b2b2b2b2-0000-4000-8000-00000000f002', 'other-entitled@example.com'),
  ('c3c3c3c3-0000-4000-8000-00000000f003', 'plain@example.com');
update public.profiles set entitlements = array['projects', 'exports']
where id in ('a1a1a1a1-0000-4000-8000-00000000f001', 'b2b2b2b2-0000-4000-8000-00000000f002');

select is(
  public.has_entitlement('projects', 'a1a1a1a1-0000-4000-8000-00000000f001'), true,
  'a user with the feature has it'
);
select is(
  public.has_entitlement('teams', 'a1a1a1a1-0000-4000-8000-00000000f001'), false,
  'a user without the feature does not have it'
);
select is(
  public.has_entitlement('projects', 'c3c3c3c3-0000-4000-8000-00000000f003'), false,
  'a user with no entitlements has none'
);
select is(
  public.has_entitlement(null, 'a1a1a1a1-0000-4000-8000-00000000f001'), false,
  'a null feature is never granted'
);

-- Another table gated by entitlement, as an app would add one.
create table public.entitled_projects (id int primary key, name text not null);
alter table public.entitled_projects enable row level security;
grant select on table public.entitled_projects to anon, authenticated;
create policy "Users with the projects feature read projects"
  on public.entitled_projects for select to anon, authenticated
  using ((select public.has_entitlement('projects')));
insert into public.entitled_projects values (1, 'Entitled project');

set local role authenticated;
set local request.jwt.claims = '{"sub":"a1a1a1a1-0000-4000-8000-00000000f001","role":"authenticated"}';
select is(public.has_entitlement('exports'), true, 'the caller''s own feature, by default');
select is(
  public.has_entitlement('projects', 'b2b2b2b2-0000-4000-8000-00000000f002'), false,
  'a user learns nothing about another user''s entitlements'
);
select results_eq(
  $$select name from public.entitled_projects$$,
  $$values ('Entitled project')$$,
  'a policy using has_entitlement shows rows to a user with the feature'
);

set local request.jwt.claims = '{"sub":"c3c3c3c3-0000-4000-8000-00000000f003","role":"authenticated"}';
select is(public.has_entitlement('projects'), false, 'a user without the feature, by default');
select is_empty(
  $$select 1 from public.entitled_projects$$,
  'a policy using has_entitlement hides rows from a user without the feature'
);

reset role;
set local role anon;
set local request.jwt.claims = '{"role":"anon"}';
select is(
  public.has_entitlement('projects', 'a1a1a1a1-0000-4000-8000-00000000f001'), false,
  'anon learns nothing about a user''s entitlements'
);
select is_empty(
  $$select 1 from public.entitled_projects$$,
  'a policy using has_entitlement hides rows from anon, without an error'
);

reset role;
set local role service_role;
select is(
  public.has_entitlement('projects', 'b2b2b2b2-0000-4000-8000-00000000f002'), true,
  'service_role asks about any user'
);
reset role;
select ok(
  has_function_privilege('authenticated', 'public.has_entitlement(text, uuid)', 'execute')
    and has_function_privilege('anon', 'public.has_entitlement(text, uuid)', 'execute'),
  'anon and authenticated can call has_entitlement'
);

select * from finish();
rollback;
