-- The processed-events ledger is invisible and unwritable for anon and authenticated users.
begin;
create extension if not exists pgtap with schema extensions;
set local search_path = public, extensions;
select plan(11);

insert into public.stripe_events (id, type) values ('evt_test_ledger', 'invoice.paid');

select ok(
  not has_table_privilege(role_name, 'public.stripe_events', privilege),
  format('%s has no %s privilege on the ledger', role_name, privilege)
)
from unnest(array['anon', 'authenticated']) as role_name,
  unnest(array['SELECT', 'INSERT', 'UPDATE', 'DELETE']) as privilege;

set local role authenticated;
set local request.jwt.claims = '{"sub":"a1a1a1a1-0000-4000-8000-000000000001","role":"authenticated"}';
select throws_ok(
  $$select * from public.stripe_events$$, '42501', null, 'a user cannot read the ledger'
);
select throws_ok(
  $$insert into public.stripe_events (id, type) values ('evt_forged', 'invoice.paid')$$,
  '42501', null, 'a user cannot record an event'
);

reset role;
select is_empty(
  $$select 1 from pg_catalog.pg_policies where schemaname = 'public' and tablename = 'stripe_events'$$,
  'the ledger has no policies'
);

select * from finish();
rollback;
