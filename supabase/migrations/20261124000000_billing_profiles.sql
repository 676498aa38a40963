-- Billing state per Supabase Auth user, and the ledger of Stripe events already applied.
-- Only the Edge Functions (service_role / the database owner) write either table; a signed-in
-- user reads their own profile and nothing else.

create table public.profiles (
  id uuid primary key references auth.users (id) on delete cascade,
  email text,
  stripe_customer_id text unique,
  stripe_subscription_id text unique,
  subscription_status text check (
    subscription_status in (
      'incomplete', 'incomplete_expired', 'trialing', 'active', 'past_due', 'canceled', 'unpaid',
      'paused'
    )
  ),
  price_id text,
  current_period_end timestamptz,
  cancel_at_period_end boolean not null default false,
  cancel_at timestamptz,
  canceled_at timestamptz,
  trial_end timestamptz,
  subscription_created_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

comment on table public.profiles is
  'One row per auth user: their Stripe customer and subscription, written by the Edge Functions.';

create table public.stripe_events (
  id text primary key,
  type text not null,
  processed_at timestamptz not null default now()
);

comment on table public.stripe_events is
  'Stripe event ids already applied, recorded in the same transaction as their effect.';

-- Row-level security, with explicit grants: new public tables get none automatically.
alter table public.profiles enable row level security;
alter table public.stripe_events enable row level security;

revoke all on table public.profiles from public, anon, authenticated;
revoke all on table public.stripe_events from public, anon, authenticated;
grant select on table public.profiles to authenticated;
grant all on table public.profiles to service_role;
grant all on table public.stripe_events to service_role;

-- `(select auth.uid())` is evaluated once per statement, not once per row.
create policy "Users read their own profile"
  on public.profiles
  for select
  to authenticated
  using (id = (select auth.uid()));

-- A profile for every auth user: created with the user, email kept in sync.
create function public.handle_new_user()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  insert into public.profiles (id, email)
  values (new.id, new.email)
  on conflict (id) do nothing;
  return new;
end;
$$;

create function public.handle_user_email_change()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  update public.profiles
  set email = new.email, updated_at = now()
  where id = new.id;
  return new;
end;
$$;

revoke execute on function public.handle_new_user() from public, anon, authenticated;
revoke execute on function public.handle_user_email_change() from public, anon, authenticated;

create trigger on_auth_user_created
  after insert on auth.users
  for each row execute function public.handle_new_user();

create trigger on_auth_user_email_changed
  after update of email on auth.users
  for each row
  when (old.email is distinct from new.email)
  execute function public.handle_user_email_change();

insert into public.profiles (id, email)
select id, email from auth.users
on conflict (id) do nothing;

-- Paid access: `active` and `trialing` only. (Checkout refuses a new subscription for a wider
-- "live" set that also holds past_due, unpaid and paused; that is the functions' rule, not this.)
-- Security invoker, so through the API a user learns nothing about anyone else: RLS hides other
-- profiles and the answer for them is false.
create function public.has_active_subscription(user_id uuid default auth.uid())
returns boolean
language sql
stable
security invoker
set search_path = ''
as $$
  select exists (
    select 1
    from public.profiles
    where id = user_id
      and subscription_status in ('active', 'trialing')
  );
$$;

revoke execute on function public.has_active_subscription(uuid) from public, anon;
grant execute on function public.has_active_subscription(uuid) to authenticated, service_role;
