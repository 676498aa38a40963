-- The plan catalog for pricing pages, the tombstones of Stripe customers deleted at Stripe, and the
-- sync pass's state. Follows the migration rules in the README ("Migrations"): names of our own,
-- a stop on any collision, a "billing:" comment on what we create.

do $$
declare
  found_name text;
begin
  select format('relation "public.%s"', c.relname) into found_name
  from pg_catalog.pg_class c
  where c.relnamespace = 'public'::regnamespace
    and c.relname in (
      'billing_plans', 'billing_plans_pkey', 'billing_deleted_customers',
      'billing_deleted_customers_pkey', 'billing_sync_state', 'billing_sync_state_pkey'
    )
  limit 1;
  if found_name is not null then
    raise exception 'The project already has a % that is not this billing schema''s', found_name
      using hint = 'Rename or drop it, then apply the migration again.';
  end if;
end
$$;

-- One row per allowed price, written by the functions (sync pass, price and product events).
create table public.billing_plans (
  price_id text primary key,
  lookup_key text,
  product_id text not null,
  name text not null,
  description text,
  unit_amount bigint,
  currency text not null,
  interval text,
  interval_count integer,
  trial_days integer,
  features text[] not null default '{}',
  is_default boolean not null default false,
  active boolean not null default true,
  updated_at timestamptz not null default now()
);

comment on table public.billing_plans is
  'billing: the allowed prices, for pricing pages; readable by everyone, written by the functions.';

alter table public.billing_plans enable row level security;
revoke all on table public.billing_plans from public, anon, authenticated;
grant select on table public.billing_plans to anon, authenticated;
grant all on table public.billing_plans to service_role;

create policy "billing: everyone reads the plans"
  on public.billing_plans
  for select
  to anon, authenticated
  using (true);

-- A customer deleted at Stripe: late events of that customer never write it back to a profile.
create table public.billing_deleted_customers (
  customer_id text primary key,
  deleted_at timestamptz not null default now()
);

comment on table public.billing_deleted_customers is
  'billing: Stripe customers deleted at Stripe, so that their late events change nothing.';

alter table public.billing_deleted_customers enable row level security;
revoke all on table public.billing_deleted_customers from public, anon, authenticated;
grant all on table public.billing_deleted_customers to service_role;

-- The one row of the sync pass: who holds the lease, where the running pass is, when passes ran.
create table public.billing_sync_state (
  id boolean primary key default true check (id),
  lease_token uuid,
  lease_expires_at timestamptz,
  -- The pass in progress: when it started, and its cursor (step, last object, events' bound).
  pass_started_at timestamptz,
  cursor text,
  last_pass_started_at timestamptz,
  last_pass_finished_at timestamptz,
  updated_at timestamptz not null default now()
);

comment on table public.billing_sync_state is
  'billing: the sync pass''s lease, cursor and history (one row).';

alter table public.billing_sync_state enable row level security;
revoke all on table public.billing_sync_state from public, anon, authenticated;
grant all on table public.billing_sync_state to service_role;

insert into public.billing_sync_state (id) values (true);
