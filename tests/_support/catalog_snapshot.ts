/**
 * A snapshot of what a project's schema is made of, for comparing a database before and after the
 * billing migrations or their uninstall: the tables, views and sequences of `public`, their
 * columns, constraints, indexes, policies and grants, the functions of `public`, and the triggers
 * on those tables and on `auth.users`. Each object maps to a string that changes when it does.
 */
import type { Sql } from "../../dev/postgres.ts";

/** Objects by kind, then by name. */
export type CatalogSnapshot = Record<string, Record<string, string>>;

const QUERIES: Record<string, string> = {
  relations: `
    select c.relname as name,
      concat_ws(' | ', c.relkind, c.relrowsecurity, c.relforcerowsecurity, c.relacl::text,
        obj_description(c.oid, 'pg_class')) as value
    from pg_class c
    where c.relnamespace = 'public'::regnamespace and c.relkind in ('r', 'p', 'v', 'm', 'S', 'f')`,
  columns: `
    select c.relname || '.' || a.attname as name,
      concat_ws(' | ', a.attnum, format_type(a.atttypid, a.atttypmod), a.attnotnull,
        pg_get_expr(d.adbin, d.adrelid), a.attacl::text, col_description(c.oid, a.attnum))
        as value
    from pg_class c
    join pg_attribute a on a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
    left join pg_attrdef d on d.adrelid = c.oid and d.adnum = a.attnum
    where c.relnamespace = 'public'::regnamespace and c.relkind in ('r', 'p', 'v', 'm', 'f')`,
  constraints: `
    select c.relname || '.' || k.conname as name, pg_get_constraintdef(k.oid) as value
    from pg_constraint k join pg_class c on c.oid = k.conrelid
    where c.relnamespace = 'public'::regnamespace`,
  indexes: `
    select indexname as name, indexdef as value from pg_indexes where schemaname = 'public'`,
  policies: `
    select c.relname || '.' || p.polname as name,
      concat_ws(' | ', p.polcmd, p.polpermissive, p.polroles::regrole[]::text,
        pg_get_expr(p.polqual, p.polrelid), pg_get_expr(p.polwithcheck, p.polrelid)) as value
    from pg_policy p join pg_class c on c.oid = p.polrelid
    where c.relnamespace = 'public'::regnamespace`,
  functions: `
    select p.oid::regprocedure::text as name,
      concat_ws(' | ', md5(pg_get_functiondef(p.oid)), p.proacl::text,
        obj_description(p.oid, 'pg_proc')) as value
    from pg_proc p where p.pronamespace = 'public'::regnamespace`,
  triggers: `
    select c.relname || '.' || t.tgname as name,
      concat_ws(' | ', pg_get_triggerdef(t.oid), t.tgenabled) as value
    from pg_trigger t join pg_class c on c.oid = t.tgrelid
    where not t.tgisinternal
      and (c.relnamespace = 'public'::regnamespace or c.oid = 'auth.users'::regclass)`,
};

/** Takes a {@link CatalogSnapshot} of the database behind `sql`. */
export async function catalogSnapshot(sql: Sql): Promise<CatalogSnapshot> {
  const snapshot: CatalogSnapshot = {};
  for (const [kind, query] of Object.entries(QUERIES)) {
    const rows = await sql.unsafe<{ name: string; value: string }[]>(`${query} order by 1`);
    snapshot[kind] = Object.fromEntries(rows.map((row) => [row.name, row.value]));
  }
  return snapshot;
}

/** The part of `snapshot` whose objects `reference` also has, kind by kind. */
export function restrictTo(snapshot: CatalogSnapshot, reference: CatalogSnapshot): CatalogSnapshot {
  return Object.fromEntries(
    Object.entries(snapshot).map(([kind, objects]) => [
      kind,
      Object.fromEntries(
        Object.entries(objects).filter(([name]) => name in (reference[kind] ?? {})),
      ),
    ]),
  );
}

/** Names of the objects of `snapshot` that `reference` lacks, as `kind name`. */
export function addedObjects(snapshot: CatalogSnapshot, reference: CatalogSnapshot): string[] {
  return Object.entries(snapshot).flatMap(([kind, objects]) =>
    Object.keys(objects)
      .filter((name) => !(name in (reference[kind] ?? {})))
      .map((name) => `${kind} ${name}`)
  );
}
