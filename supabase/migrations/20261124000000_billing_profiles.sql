-- Billing state per Supabase Auth user, the ledger of Stripe events already applied, and what
-- Stripe must be told about users. Only the Edge Functions (service_role / the database owner)
-- write billing data; a signed-in user reads their own profile and nothing else.
--
-- Safe to apply to a project that already has a `public.profiles` table (Supabase's
-- user-management quickstart, for one), following the migration rules in the README
-- ("Migrations"): the table is adopted, never replaced; every object of ours is named `billing_...`
-- (the two helpers SPEC names excepted); an object of one of our names that is not ours stops the
-- migration; what we create carries a comment starting with "billing:", which is how
-- supabase/uninstall.sql tells it from the project's own.

-- ---- 1. Stop before changing anything if an object of ours would collide with the project's ----

do $$
declare
  found_name text;
begin
  select format('function "%s"', p.oid::regprocedure) into found_name
  from pg_catalog.pg_proc p
  where p.pronamespace = 'public'::regnamespace
    and p.proname in (
      'billing_handle_new_user', 'billing_handle_user_email_change', 'billing_handle_user_delete',
      'billing_guard_profile_columns', 'billing_read_exposures', 'has_active_subscription',
      'has_entitlement'
    )
  limit 1;
  if found_name is null then
    select format('trigger "%s" on auth.users', t.tgname) into found_name
    from pg_catalog.pg_trigger t
    where t.tgrelid = 'auth.users'::regclass
      and t.tgname in (
        'billing_on_auth_user_created', 'billing_on_auth_user_email_changed',
        'billing_on_auth_user_deleted'
      )
    limit 1;
  end if;
  if found_name is null then
    select format('relation "public.%s"', c.relname) into found_name
    from pg_catalog.pg_class c
    where c.relnamespace = 'public'::regnamespace
      and c.relname in (
        'billing_tasks', 'billing_tasks_pkey', 'billing_tasks_id_seq', 'billing_tasks_pending_idx',
        'billing_profiles_stripe_customer_id_key', 'billing_profiles_stripe_subscription_id_key',
        'billing_stripe_events_pkey'
      )
      or (c.relname = 'billing_profiles_pkey' and to_regclass('public.profiles') is null)
    limit 1;
  end if;
  if found_name is null and to_regclass('public.profiles') is not null then
    select format('trigger "%s" on public.profiles', t.tgname) into found_name
    from pg_catalog.pg_trigger t
    where t.tgrelid = 'public.profiles'::regclass
      and t.tgname in ('billing_guard_profile_columns', 'billing_guard_profile_truncate');
    if found_name is null then
      select format('policy "%s" on public.profiles', p.polname) into found_name
      from pg_catalog.pg_policy p
      where p.polrelid = 'public.profiles'::regclass
        and p.polname = 'billing: users read their own profile';
    end if;
    if found_name is null then
      select format('constraint "%s" on public.profiles', c.conname) into found_name
      from pg_catalog.pg_constraint c
      where c.conrelid = 'public.profiles'::regclass
        and c.conname in (
          'billing_profiles_stripe_customer_id_key', 'billing_profiles_stripe_subscription_id_key',
          'billing_profiles_subscription_status_check'
        );
    end if;
  end if;
  if found_name is not null then
    raise exception 'The project already has a % that is not this billing schema''s', found_name
      using hint = 'Rename or drop it, then apply the migration again.';
  end if;
end
$$;

-- ---- 2. public.profiles: created when missing, else adopted ---------------------------------------

do $$
declare
  -- name, definition, the types an existing column may have so that the functions' writes and
  -- the frontends' reads still mean the same, what the column holds. (Not-null constraints are
  -- named too: Postgres 18 records them under their names.)
  wanted constant text[][] := array[
    ['email', 'text', 'text|character varying|citext', 'The user''s email, kept equal to auth.users.email.'],
    ['stripe_customer_id', 'text', 'text|character varying', 'The user''s Stripe customer (cus_...).'],
    ['stripe_subscription_id', 'text', 'text|character varying', 'The subscription this profile follows (sub_...).'],
    ['subscription_status', 'text', 'text|character varying', 'That subscription''s status at Stripe, or null.'],
    ['price_id', 'text', 'text|character varying', 'That subscription''s price.'],
    ['current_period_end', 'timestamptz', 'timestamp with time zone', 'End of the paid period.'],
    ['cancel_at_period_end', 'boolean constraint billing_profiles_cancel_at_period_end_not_null not null default false', 'boolean', 'Whether the subscription ends at the period''s end.'],
    ['cancel_at', 'timestamptz', 'timestamp with time zone', 'When the subscription is set to end.'],
    ['canceled_at', 'timestamptz', 'timestamp with time zone', 'When the subscription was canceled.'],
    ['trial_end', 'timestamptz', 'timestamp with time zone', 'End of the trial.'],
    ['subscription_created_at', 'timestamptz', 'timestamp with time zone', 'When the subscription was created at Stripe.'],
    ['entitlements', 'text[] constraint billing_profiles_entitlements_not_null not null default ''{}''', 'text[]', 'Lookup keys of the customer''s active Stripe entitlements.'],
    ['created_at', 'timestamptz constraint billing_profiles_created_at_not_null not null default now()', 'timestamp with time zone|timestamp without time zone', 'When the profile was created.'],
    ['updated_at', 'timestamptz constraint billing_profiles_updated_at_not_null not null default now()', 'timestamp with time zone|timestamp without time zone', 'When the profile last changed.']
  ];
  created boolean := to_regclass('public.profiles') is null;
  added text[] := array[]::text[];
  existing_type text;
  i integer;
begin
  if created then
    create table public.profiles (
      id uuid not null,
      constraint billing_profiles_pkey primary key (id),
      constraint billing_profiles_id_fkey foreign key (id) references auth.users (id)
        on delete cascade
    );
    comment on table public.profiles is
      'billing: one row per auth user, with their Stripe customer and subscription.';
    comment on column public.profiles.id is 'billing: the auth user (auth.users.id).';
  else
    if (select c.relkind from pg_catalog.pg_class c where c.oid = 'public.profiles'::regclass)
      not in ('r', 'p')
    then
      raise exception 'public.profiles exists and is not a table';
    end if;
    select pg_catalog.format_type(a.atttypid, a.atttypmod) into existing_type
    from pg_catalog.pg_attribute a
    where a.attrelid = 'public.profiles'::regclass and a.attname = 'id' and not a.attisdropped;
    if existing_type is distinct from 'uuid' then
      raise exception 'Column "id" of public.profiles is %, not uuid',
        coalesce(existing_type, 'missing');
    end if;
    -- The sign-up trigger's `on conflict (id)` needs a unique index on exactly (id).
    if not exists (
      select 1 from pg_catalog.pg_index x
      where x.indrelid = 'public.profiles'::regclass and x.indisunique and x.indpred is null
        and x.indkey::text = (
          select a.attnum::text from pg_catalog.pg_attribute a
          where a.attrelid = 'public.profiles'::regclass and a.attname = 'id'
        )
    ) then
      raise exception 'Column "id" of public.profiles is neither its primary key nor unique';
    end if;
  end if;

  for i in 1 .. array_length(wanted, 1) loop
    select pg_catalog.format_type(a.atttypid, a.atttypmod) into existing_type
    from pg_catalog.pg_attribute a
    where a.attrelid = 'public.profiles'::regclass and a.attname = wanted[i][1]
      and a.attnum > 0 and not a.attisdropped;
    if existing_type is null then
      execute format('alter table public.profiles add column %I %s', wanted[i][1], wanted[i][2]);
      execute format('comment on column public.profiles.%I is %L', wanted[i][1],
        'billing: ' || wanted[i][4]);
      added := added || wanted[i][1];
    elsif not regexp_replace(existing_type, '\(.*\)', '') = any (string_to_array(wanted[i][3], '|'))
    then
      raise exception 'Column "%" of public.profiles is %, which billing cannot use',
        wanted[i][1], existing_type
        using hint = format('Billing needs %s; rename the existing column, then apply the '
          'migration again.', replace(wanted[i][3], '|', ' or '));
    end if;
  end loop;

  -- Constraints go on the columns we added only: an adopted column keeps what it had.
  if 'stripe_customer_id' = any (added) then
    alter table public.profiles
      add constraint billing_profiles_stripe_customer_id_key unique (stripe_customer_id);
  end if;
  if 'stripe_subscription_id' = any (added) then
    alter table public.profiles
      add constraint billing_profiles_stripe_subscription_id_key unique (stripe_subscription_id);
  end if;
  if 'subscription_status' = any (added) then
    alter table public.profiles add constraint billing_profiles_subscription_status_check check (
      subscription_status in (
        'incomplete', 'incomplete_expired', 'trialing', 'active', 'past_due', 'canceled', 'unpaid',
        'paused'
      )
    );
  end if;

  -- Row-level security and explicit grants (new tables get none automatically) on a table of
  -- ours. An adopted table keeps its own: billing_read_exposures() reports what they expose, and
  -- the guard below holds whatever they allow.
  if created then
    alter table public.profiles enable row level security;
    revoke all on table public.profiles from public, anon, authenticated;
    grant select on table public.profiles to authenticated;
    grant all on table public.profiles to service_role;
  end if;
end
$$;

-- `(select auth.uid())` is evaluated once per statement, not once per row.
create policy "billing: users read their own profile"
  on public.profiles
  for select
  to authenticated
  using (id = (select auth.uid()));

-- ---- 3. Billing columns are written by the functions only, whatever grants and policies say -----

-- "The functions' roles" are those that bypass row-level security: on Supabase `postgres` (the
-- role of SUPABASE_DB_URL) and `service_role`. Security invoker, so `current_user` is the writer;
-- the security definer trigger functions below run as their owner and pass.
create function public.billing_guard_profile_columns()
returns trigger
language plpgsql
security invoker
set search_path = ''
as $$
declare
  billing_columns constant text[] := array[
    'stripe_customer_id', 'stripe_subscription_id', 'subscription_status', 'price_id',
    'current_period_end', 'cancel_at_period_end', 'cancel_at', 'canceled_at', 'trial_end',
    'subscription_created_at', 'entitlements'
  ];
  -- A billing column's default: null, or `false` / `{}` for the two that are never null.
  defaults constant jsonb[] := array['null', 'false', '[]']::jsonb[];
  proposed jsonb;
  previous jsonb;
  billing_column text;
begin
  if (select r.rolsuper or r.rolbypassrls from pg_catalog.pg_roles r
      where r.rolname = current_user) then
    return case when tg_op = 'DELETE' then old else new end;
  end if;
  -- TRUNCATE skips row triggers and row-level security: refused outright (older projects grant it
  -- to anon and authenticated with `grant all`).
  if tg_op = 'TRUNCATE' then
    raise exception using
      errcode = '42501',
      message = 'public.profiles holds billing data: only the billing functions'' roles truncate it',
      hint = 'Delete the auth users instead; their profiles go with them.';
  end if;
  proposed := case when tg_op <> 'DELETE' then to_jsonb(new) end;
  previous := case when tg_op <> 'INSERT' then to_jsonb(old) end;
  foreach billing_column in array billing_columns loop
    if (tg_op = 'INSERT' and not coalesce(proposed -> billing_column, 'null') = any (defaults))
      or (tg_op = 'UPDATE' and (proposed -> billing_column) is distinct from
        (previous -> billing_column))
      or (tg_op = 'DELETE' and not coalesce(previous -> billing_column, 'null') = any (defaults))
    then
      raise exception using
        errcode = '42501',
        message = format(
          'Column "%s" of public.profiles is written only by the billing functions',
          billing_column
        ),
        hint = case tg_op
          when 'DELETE' then 'A profile that holds billing data is deleted with its auth user.'
          else 'Leave it out of the insert or update.'
        end;
    end if;
  end loop;
  return case when tg_op = 'DELETE' then old else new end;
end;
$$;

comment on function public.billing_guard_profile_columns() is
  'billing: refuses writes of billing columns, and truncation, by any role that does not bypass RLS.';
revoke execute on function public.billing_guard_profile_columns() from public, anon, authenticated;

create trigger billing_guard_profile_columns
  before insert or update or delete on public.profiles
  for each row execute function public.billing_guard_profile_columns();
create trigger billing_guard_profile_truncate
  before truncate on public.profiles
  for each statement execute function public.billing_guard_profile_columns();

-- ---- 4. The ledger of applied Stripe events -------------------------------------------------------

do $$
declare
  shape text;
begin
  if to_regclass('public.stripe_events') is null then
    create table public.stripe_events (
      id text not null,
      type text not null,
      processed_at timestamptz not null default now(),
      constraint billing_stripe_events_pkey primary key (id)
    );
    comment on table public.stripe_events is
      'billing: Stripe event ids already applied, recorded in the same transaction as their effect.';
    alter table public.stripe_events enable row level security;
    revoke all on table public.stripe_events from public, anon, authenticated;
    grant all on table public.stripe_events to service_role;
    return;
  end if;
  -- A table of that name is the project's: even one shaped like the ledger keeps the project's
  -- grants, which could let a user read it or record an event id before Stripe sends it.
  select string_agg(a.attname || ' ' || pg_catalog.format_type(a.atttypid, a.atttypmod), ', '
    order by a.attname) into shape
  from pg_catalog.pg_attribute a
  where a.attrelid = 'public.stripe_events'::regclass and a.attnum > 0 and not a.attisdropped;
  raise exception 'public.stripe_events already exists with columns (%), not the ledger''s', shape
    using hint = 'Rename or drop the project''s table, then apply the billing migrations.';
end
$$;

-- ---- 5. What Stripe must be told about users, drained by the sync pass ---------------------------

create table public.billing_tasks (
  id bigint generated always as identity primary key,
  kind text not null check (kind in ('cancel_customer', 'update_email')),
  -- No foreign key: the user may be gone by the time the task runs.
  user_id uuid not null,
  customer_id text not null,
  email text,
  created_at timestamptz not null default now(),
  attempts integer not null default 0,
  last_error text,
  last_attempt_at timestamptz,
  done_at timestamptz
);

comment on table public.billing_tasks is
  'billing: what Stripe must be told about users (a canceled account, a new email).';

create index billing_tasks_pending_idx on public.billing_tasks (id) where done_at is null;

alter table public.billing_tasks enable row level security;
-- Projects whose default privileges grant every new table and sequence to the API roles get
-- those grants taken back here.
revoke all on table public.billing_tasks from public, anon, authenticated;
revoke all on sequence public.billing_tasks_id_seq from public, anon, authenticated;
grant all on table public.billing_tasks to service_role;
grant usage, select on sequence public.billing_tasks_id_seq to service_role;

-- ---- 6. Triggers on auth.users ----------------------------------------------------------------

-- A profile for every new auth user. Statement-level, so it fires after every row-level trigger
-- of the project (such as the quickstart's `on_auth_user_created`, which inserts without
-- `on conflict`): whether theirs inserted the row already or not, the row exists afterwards and
-- gets the user's email where it has none.
create function public.billing_handle_new_user()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  insert into public.profiles (id, email)
  select u.id, u.email from billing_new_users u
  on conflict (id) do update set email = excluded.email
  where public.profiles.email is null and excluded.email is not null;
  return null;
end;
$$;

-- A new email reaches the profile and, for a Stripe customer, Stripe (through a task).
create function public.billing_handle_user_email_change()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  customer text;
begin
  update public.profiles
  set email = new.email, updated_at = now()
  where id = new.id
  returning stripe_customer_id into customer;
  if customer is not null then
    insert into public.billing_tasks (kind, user_id, customer_id, email)
    values ('update_email', new.id, customer, new.email);
  end if;
  return null;
end;
$$;

-- A deleted user must not go on paying: the task is recorded in the deleting transaction, before
-- the delete cascades to the profile.
create function public.billing_handle_user_delete()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  insert into public.billing_tasks (kind, user_id, customer_id, email)
  select 'cancel_customer', p.id, p.stripe_customer_id, p.email
  from public.profiles p
  where p.id = old.id and p.stripe_customer_id is not null;
  return old;
end;
$$;

comment on function public.billing_handle_new_user() is
  'billing: creates the profile of new auth users.';
comment on function public.billing_handle_user_email_change() is
  'billing: copies a changed email to the profile and queues it for Stripe.';
comment on function public.billing_handle_user_delete() is
  'billing: queues the cancellation of a deleted user''s Stripe customer.';

revoke execute on function public.billing_handle_new_user() from public, anon, authenticated;
revoke execute on function public.billing_handle_user_email_change()
  from public, anon, authenticated;
revoke execute on function public.billing_handle_user_delete() from public, anon, authenticated;

create trigger billing_on_auth_user_created
  after insert on auth.users
  referencing new table as billing_new_users
  for each statement execute function public.billing_handle_new_user();

create trigger billing_on_auth_user_email_changed
  after update of email on auth.users
  for each row
  when (old.email is distinct from new.email)
  execute function public.billing_handle_user_email_change();

create trigger billing_on_auth_user_deleted
  before delete on auth.users
  for each row execute function public.billing_handle_user_delete();

-- Users that already exist: a profile each, and their email where the profile has none.
insert into public.profiles (id, email)
select id, email from auth.users
on conflict (id) do update set email = excluded.email
where public.profiles.email is null and excluded.email is not null;

-- ---- 7. Helpers for other tables' policies ----------------------------------------------------

-- Paid access: `active` and `trialing` only. (Checkout refuses a new subscription for a wider
-- "live" set that also holds past_due, unpaid and paused; that is the functions' rule, not this.)
-- Security invoker, and a caller that does not bypass RLS (anon, a signed-in user) gets an answer
-- about themselves only: false for anyone else, even where the project's policies let them read
-- other profiles.
create function public.has_active_subscription(user_id uuid default auth.uid())
returns boolean
language plpgsql
stable
security invoker
set search_path = ''
as $$
begin
  if user_id is null or (
    user_id is distinct from auth.uid()
    and not (select r.rolsuper or r.rolbypassrls from pg_catalog.pg_roles r
      where r.rolname = current_user)
  ) then
    return false;
  end if;
  return exists (
    select 1 from public.profiles p
    where p.id = user_id and p.subscription_status in ('active', 'trialing')
  );
end;
$$;

-- Entitlements alone decide: Stripe's active entitlements already follow the subscription (they
-- stay through past_due and go when it ends), and the webhook and sync keep them equal to Stripe's.
create function public.has_entitlement(feature text, user_id uuid default auth.uid())
returns boolean
language plpgsql
stable
security invoker
set search_path = ''
as $$
begin
  if feature is null or user_id is null or (
    user_id is distinct from auth.uid()
    and not (select r.rolsuper or r.rolbypassrls from pg_catalog.pg_roles r
      where r.rolname = current_user)
  ) then
    return false;
  end if;
  return exists (
    select 1 from public.profiles p where p.id = user_id and feature = any (p.entitlements)
  );
end;
$$;

comment on function public.has_active_subscription(uuid) is
  'billing: whether the user (the caller by default) has an active or trialing subscription.';
comment on function public.has_entitlement(text, uuid) is
  'billing: whether the user (the caller by default) has the Stripe entitlement feature.';

revoke execute on function public.has_active_subscription(uuid) from public;
revoke execute on function public.has_entitlement(text, uuid) from public;
grant execute on function public.has_active_subscription(uuid)
  to anon, authenticated, service_role;
grant execute on function public.has_entitlement(text, uuid) to anon, authenticated, service_role;

-- ---- 8. Who can read other users' billing data ---------------------------------------------------

-- One row per way in which anon or a signed-in user can read another user's billing columns (or
-- email) of public.profiles: `rls_disabled`, `policy` (a permissive select policy whose condition
-- is not the caller's own row, with a select privilege on those columns), `view` (a view or
-- materialized view in an API schema that reads them and that they may select). Whether a
-- policy's condition is the caller's own row is read from its text (`id = auth.uid()` as one of
-- its AND-ed terms, with no OR): a policy written another way is reported, never missed.
create function public.billing_read_exposures()
returns table (kind text, object text, roles text[], columns text[], explanation text)
language sql
stable
security invoker
set search_path = ''
as $$
  with private_column as (
    select a.attnum, a.attname::text as name
    from pg_catalog.pg_attribute a
    where a.attrelid = 'public.profiles'::regclass and a.attnum > 0 and not a.attisdropped
      and a.attname = any (array[
        'email', 'stripe_customer_id', 'stripe_subscription_id', 'subscription_status',
        'price_id', 'current_period_end', 'cancel_at_period_end', 'cancel_at', 'canceled_at',
        'trial_end', 'subscription_created_at', 'entitlements'
      ])
  ),
  api_role as (
    select r.oid, r.rolname::text as name
    from pg_catalog.pg_roles r
    where r.rolname in ('anon', 'authenticated')
  ),
  readable as (
    select r.oid, r.name, array_agg(c.name order by c.attnum) as columns
    from api_role r cross join private_column c
    where pg_catalog.has_column_privilege(r.oid, 'public.profiles'::regclass, c.attnum, 'SELECT')
    group by r.oid, r.name
  ),
  policy as (
    select p.polname::text as name, p.polpermissive as permissive, p.polroles,
      pg_catalog.pg_get_expr(p.polqual, p.polrelid) as qual
    from pg_catalog.pg_policy p
    where p.polrelid = 'public.profiles'::regclass and p.polcmd in ('r', '*')
  ),
  judged as (
    select p.*,
      p.qual is not null and p.qual !~* '\mor\M' and array['@uid=id', 'id=@uid']
        && string_to_array(
          translate(
            replace(replace(lower(regexp_replace(p.qual, '\s', '', 'g')),
              'selectauth.uid()asuid', '@uid'), 'auth.uid()', '@uid'),
            '()', ''
          ),
          'and'
        ) as own_row
    from policy p
  ),
  applies as (
    select j.*, r.oid as role_oid, r.name as role_name, r.columns
    from judged j join readable r
      on 0 = any (j.polroles)
        or exists (
          select 1 from unnest(j.polroles) as target
          where pg_catalog.pg_has_role(r.oid, target, 'MEMBER')
        )
  ),
  exposed as (
    select a.name, a.role_name, col
    from applies a cross join unnest(a.columns) as col
    where a.permissive and not a.own_row
      -- A restrictive policy that keeps the role to its own row closes what permissive ones open.
      and not exists (
        select 1 from applies b
        where not b.permissive and b.own_row and b.role_oid = a.role_oid
      )
  ),
  view_reading as (
    select v.oid, n.nspname, v.relname, v.relkind,
      array_agg(distinct c.name) as columns
    from pg_catalog.pg_depend d
    join pg_catalog.pg_rewrite w on d.classid = 'pg_catalog.pg_rewrite'::regclass
      and w.oid = d.objid
    join pg_catalog.pg_class v on v.oid = w.ev_class
    join pg_catalog.pg_namespace n on n.oid = v.relnamespace
    join private_column c on c.attnum = d.refobjsubid
    where d.refclassid = 'pg_catalog.pg_class'::regclass
      and d.refobjid = 'public.profiles'::regclass
      and v.oid <> 'public.profiles'::regclass
      and v.relkind in ('v', 'm')
      and n.nspname in ('public', 'graphql_public')
      -- A security invoker view reads through the table's own policies, reported above.
      and not (v.relkind = 'v' and coalesce(v.reloptions, '{}') && array[
        'security_invoker=true', 'security_invoker=on', 'security_invoker=1'
      ])
    group by v.oid, n.nspname, v.relname, v.relkind
  )
  select 'rls_disabled', 'public.profiles', array_agg(r.name order by r.name),
    (select array_agg(distinct col) from readable, unnest(readable.columns) as col),
    'Row-level security is off on public.profiles, so these roles read every row''s billing columns.'
  from readable r
  where not (select c.relrowsecurity from pg_catalog.pg_class c
    where c.oid = 'public.profiles'::regclass)
  having count(*) > 0
  union all
  select 'policy', format('policy %s on public.profiles', quote_ident(e.name)),
    array_agg(distinct e.role_name), array_agg(distinct e.col),
    format('Policy "%s" lets these roles read other users'' rows, and their select privilege '
      'covers billing columns.', e.name)
  from exposed e
  where (select c.relrowsecurity from pg_catalog.pg_class c
    where c.oid = 'public.profiles'::regclass)
  group by e.name
  union all
  select 'view', format('%s %s.%s', case v.relkind when 'm' then 'materialized view' else 'view' end,
      quote_ident(v.nspname), quote_ident(v.relname)),
    array_agg(r.name order by r.name), v.columns,
    format('"%s.%s" reads billing columns of public.profiles as its owner, and these roles may '
      'select from it.', v.nspname, v.relname)
  from view_reading v join api_role r
    on pg_catalog.has_any_column_privilege(r.oid, v.oid, 'SELECT')
  group by v.oid, v.nspname, v.relname, v.relkind, v.columns
  order by 1, 2
$$;

comment on function public.billing_read_exposures() is
  'billing: every policy, grant or view through which anon or a user reads others'' billing data.';
revoke execute on function public.billing_read_exposures() from public, anon, authenticated;
grant execute on function public.billing_read_exposures() to service_role;
