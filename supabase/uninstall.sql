-- Removes what the billing migrations created, and their rows of the migration history (so that
-- `supabase db push` installs them again), and nothing else:
--
-- - our triggers, policies and constraints, by their exact names;
-- - our functions and tables, those whose comment starts with "billing:";
-- - on public.profiles, the columns whose comment starts with "billing:"; the table itself only
--   when the migrations created it and no column of the project's remains. An adopted table keeps
--   its own columns (an adopted `updated_at` too), policies, grants, triggers and rows.
--
-- Nothing is dropped with CASCADE: an object of the project's that depends on one of ours (a
-- policy calling has_entitlement(), a view over a billing column) stops the uninstall with
-- Postgres naming it, and nothing is removed. Run it as the role that applied the migrations:
--   psql "$SUPABASE_DB_URL" -v ON_ERROR_STOP=1 -f supabase/uninstall.sql
-- Every migration adds its version to `versions` below.

begin;

do $$
declare
  versions constant text[] := array['20261124000000', '20261125000000'];
  our_tables constant text[] := array[
    'billing_plans', 'billing_deleted_customers', 'billing_sync_state', 'billing_tasks',
    'stripe_events'
  ];
  our_functions constant text[] := array[
    'public.billing_guard_profile_columns()', 'public.billing_handle_new_user()',
    'public.billing_handle_user_email_change()', 'public.billing_handle_user_delete()',
    'public.billing_read_exposures()', 'public.has_active_subscription(uuid)',
    'public.has_entitlement(text, uuid)'
  ];
  profiles regclass := to_regclass('public.profiles');
  table_name text;
  function_name text;
  column_name text;
begin
  drop trigger if exists billing_on_auth_user_created on auth.users;
  drop trigger if exists billing_on_auth_user_email_changed on auth.users;
  drop trigger if exists billing_on_auth_user_deleted on auth.users;

  if profiles is not null then
    drop trigger if exists billing_guard_profile_columns on public.profiles;
    drop trigger if exists billing_guard_profile_truncate on public.profiles;
    drop policy if exists "billing: users read their own profile" on public.profiles;
    alter table public.profiles
      drop constraint if exists billing_profiles_stripe_customer_id_key,
      drop constraint if exists billing_profiles_stripe_subscription_id_key,
      drop constraint if exists billing_profiles_subscription_status_check;
  end if;

  foreach function_name in array our_functions loop
    if to_regprocedure(function_name) is not null
      and obj_description(to_regprocedure(function_name), 'pg_proc') like 'billing:%'
    then
      execute format('drop function %s', to_regprocedure(function_name));
    end if;
  end loop;

  foreach table_name in array our_tables loop
    if to_regclass('public.' || quote_ident(table_name)) is not null
      and obj_description(to_regclass('public.' || quote_ident(table_name)), 'pg_class')
        like 'billing:%'
    then
      execute format('drop table public.%I', table_name);
    end if;
  end loop;

  if profiles is not null then
    for column_name in
      select a.attname from pg_catalog.pg_attribute a
      where a.attrelid = profiles and a.attnum > 0 and not a.attisdropped
        and a.attname <> 'id' and col_description(profiles, a.attnum) like 'billing:%'
      order by a.attnum
    loop
      execute format('alter table public.profiles drop column %I', column_name);
    end loop;
    if obj_description(profiles, 'pg_class') like 'billing:%' then
      if exists (
        select 1 from pg_catalog.pg_attribute a
        where a.attrelid = profiles and a.attnum > 0 and not a.attisdropped and a.attname <> 'id'
      ) then
        -- The project added columns of its own to our table: it keeps the table as its own.
        comment on table public.profiles is null;
        comment on column public.profiles.id is null;
        raise notice 'public.profiles keeps the columns the project added, and becomes its own';
      else
        drop table public.profiles;
      end if;
    end if;
  end if;

  if to_regclass('supabase_migrations.schema_migrations') is not null then
    delete from supabase_migrations.schema_migrations where version = any (versions);
  end if;
end
$$;

commit;
