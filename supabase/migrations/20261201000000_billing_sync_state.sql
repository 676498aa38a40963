-- The sync's state: one row holding the lease that keeps passes from overlapping and the cursor
-- of the pass in progress. Only the Edge Functions read or write it.

create table public.billing_sync_state (
  id boolean primary key default true check (id),
  lease_token uuid,
  lease_expires_at timestamptz,
  pass_started_at timestamptz,
  cursor text,
  last_pass_started_at timestamptz,
  last_pass_finished_at timestamptz,
  updated_at timestamptz not null default now()
);

comment on table public.billing_sync_state is
  'stripe-sync''s lease and cursor; one row, written by the Edge Functions only.';

alter table public.billing_sync_state enable row level security;
revoke all on table public.billing_sync_state from public, anon, authenticated;
grant all on table public.billing_sync_state to service_role;

insert into public.billing_sync_state (id) values (true);
