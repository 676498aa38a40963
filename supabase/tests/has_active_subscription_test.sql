-- has_active_subscription() answers for the caller, and says nothing about other users, even where
-- the project's policies let users read other profiles. Runs on both databases.
begin;
create extension if not exists pgtap with schema extensions;
set local search_path = public, extensions;
select plan(12);

insert into auth.users (id, email) values
  ('a1a1a1a1-0000-4000-8000-000000000011', 'active@example.com'),
  ('b2b2b2b2-0000-4000-8000-000000000012', 'other@example.com'),
  ('c3c3c3c3-0000-4000-8000-000000000013', 'lapsed@example.com');
update public.profiles set subscription_status = 'active'
where id in ('a1a1a1a1-0000-4000-8000-000000000011', 'b2b2b2b2-0000-4000-8000-000000000012');
update public.profiles set subscription_status = 'past_due'
where id = 'c3c3c3c3-0000-4000-8000-000000000013';

select is(
  public.has_active_subscription('a1a1a1a1-0000-4000-8000-000000000011'), true,
  'an active profile has an active subscription'
);
select is(
  public.has_active_subscription('c3c3c3c3-0000-4000-8000-000000000013'), false,
  'a past_due profile has no active subscription'
);
update public.profiles set subscription_status = 'trialing'
where id = 'c3c3c3c3-0000-4000-8000-000000000013';
select is(
  public.has_active_subscription('c3c3c3c3-0000-4000-8000-000000000013'), true,
  'a trialing profile has an active subscription'
);
select is(
  public.has_active_subscription('d4d4d4d4-0000-4000-8000-000000000014'), false,
  'an unknown user has no active subscription'
);
select is(
  (select provolatile::text || prosecdef::text from pg_catalog.pg_proc
   where oid = 'public.has_active_subscription(uuid)'::regprocedure),
  'sfalse',
  'has_active_subscription is stable and security invoker'
);

-- Another table gated by subscription, as an app would add one.
create table public.premium_articles (id int primary key, title text not null);
alter table public.premium_articles enable row level security;
grant select on table public.premium_articles to authenticated;
create policy "Subscribers read premium articles"
  on public.premium_articles for select to authenticated
  using ((select public.has_active_subscription()));
insert into public.premium_articles values (1, 'For subscribers');

set local role authenticated;
set local request.jwt.claims = '{"sub":"a1a1a1a1-0000-4000-8000-000000000011","role":"authenticated"}';
select is(
  public.has_active_subscription(), true,
  'a subscribed user has an active subscription by default'
);
select is(
  public.has_active_subscription('b2b2b2b2-0000-4000-8000-000000000012'), false,
  'a user learns nothing about another user''s subscription'
);

set local request.jwt.claims = '{"sub":"c3c3c3c3-0000-4000-8000-000000000013","role":"authenticated"}';
select is(
  public.has_active_subscription(), true,
  'a trialing user has an active subscription by default'
);

set local request.jwt.claims = '{"sub":"d4d4d4d4-0000-4000-8000-000000000014","role":"authenticated"}';
select is(
  public.has_active_subscription(), false,
  'a user without a profile has no active subscription'
);
select is_empty(
  $$select 1 from public.premium_articles$$,
  'a policy using has_active_subscription hides rows from a user without a subscription'
);

set local request.jwt.claims = '{"sub":"a1a1a1a1-0000-4000-8000-000000000011","role":"authenticated"}';
select results_eq(
  $$select title from public.premium_articles$$,
  $$values ('For subscribers')$$,
  'a policy using has_active_subscription shows rows to a subscriber'
);

reset role;
set local role anon;
set local request.jwt.claims = '{"role":"anon"}';
select is(
  public.has_active_subscription('a1a1a1a1-0000-4000-8000-000000000011'), false,
  'anon learns nothing about a subscribed user'
);

select * from finish();
rollback;
