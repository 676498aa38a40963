/**
 * Database checks, through the functions' own client: reachable as a role that may write billing
 * columns, migrated (every migration recorded, every table, column, helper, trigger and policy
 * there), row-level security on, and nobody reading other users' billing columns.
 */
import { connectDatabase, type Database, rowsOf } from "../../supabase/functions/_shared/db.ts";
import { statement } from "../../supabase/functions/_shared/pg/mod.ts";
import { listMigrations, MIGRATIONS_DIR } from "../../dev/migrations.ts";
import { type CheckResult, failed, passed, skipped } from "./report.ts";

/** Our tables; RLS must be on for each. */
const TABLES = [
  "public.profiles",
  "public.stripe_events",
  "public.billing_tasks",
  "public.billing_plans",
  "public.billing_deleted_customers",
  "public.billing_sync_state",
];

/** The database the doctor checked, for the CLI (which targets the local stack by default). */
const TARGET = '--remote="$SUPABASE_DB_URL"';
const PUSH = `supabase db push ${TARGET}`;

/** The columns the migrations add to `public.profiles` (created or adopted). */
const PROFILE_COLUMNS = [
  "email",
  "stripe_customer_id",
  "stripe_subscription_id",
  "subscription_status",
  "price_id",
  "current_period_end",
  "cancel_at_period_end",
  "cancel_at",
  "canceled_at",
  "trial_end",
  "subscription_created_at",
  "entitlements",
  "created_at",
  "updated_at",
];

/** The columns `billing_read_exposures()` guards: nobody reads another user's. */
const PRIVATE_COLUMNS = PROFILE_COLUMNS.filter((c) => c !== "created_at" && c !== "updated_at");

const FUNCTIONS = [
  "public.has_active_subscription(uuid)",
  "public.has_entitlement(text, uuid)",
  "public.billing_read_exposures()",
  "public.billing_guard_profile_columns()",
  "public.billing_handle_new_user()",
  "public.billing_handle_user_email_change()",
  "public.billing_handle_user_delete()",
];

/** [table, trigger]: the column guard and the tasks of auth users' sign-up, email and deletion. */
const TRIGGERS: [string, string][] = [
  ["public.profiles", "billing_guard_profile_columns"],
  ["public.profiles", "billing_guard_profile_truncate"],
  ["auth.users", "billing_on_auth_user_created"],
  ["auth.users", "billing_on_auth_user_email_changed"],
  ["auth.users", "billing_on_auth_user_deleted"],
];

const POLICIES: [string, string][] = [
  ["public.profiles", "billing: users read their own profile"],
  ["public.billing_plans", "billing: everyone reads the plans"],
];

/** What the catalog query finds missing. */
interface Catalog {
  tables: string[];
  columns: string[];
  functions: string[];
  triggers: string[];
  policies: string[];
  rls_off: string[];
  tracked: boolean;
}

/** One row of `public.billing_read_exposures()`. */
interface Exposure {
  kind: "rls_disabled" | "policy" | "view";
  object: string;
  roles: string[];
  columns: string[];
  explanation: string;
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** An identifier as SQL needs it written: quoted unless plain lower case. */
function identifier(name: string): string {
  return /^[a-z_][a-z0-9_]*$/.test(name) ? name : `"${name.replaceAll('"', '""')}"`;
}

async function readCatalog(db: Database): Promise<Catalog> {
  const [row] = rowsOf<{ catalog: Catalog }>(
    await db.query(statement`
      select json_build_object(
        'tables', (select coalesce(json_agg(t), '[]') from unnest(${TABLES}) t
          where to_regclass(t) is null),
        'columns', (select coalesce(json_agg('public.profiles.' || c), '[]')
          from unnest(${PROFILE_COLUMNS}) c
          where to_regclass('public.profiles') is not null and not exists (
            select 1 from pg_catalog.pg_attribute a
            where a.attrelid = to_regclass('public.profiles') and a.attname::text = c
              and a.attnum > 0 and not a.attisdropped)),
        'functions', (select coalesce(json_agg(f), '[]') from unnest(${FUNCTIONS}) f
          where to_regprocedure(f) is null),
        'triggers', (select coalesce(json_agg(format('%s on %s', x.name, x.tab)), '[]')
          from unnest(${TRIGGERS.map(([table]) => table)}, ${
      TRIGGERS.map(([, name]) => name)
    }) as x(tab, name)
          where not exists (select 1 from pg_catalog.pg_trigger g
            where g.tgrelid = to_regclass(x.tab) and g.tgname::text = x.name)),
        'policies', (select coalesce(json_agg(format('"%s" on %s', x.name, x.tab)), '[]')
          from unnest(${POLICIES.map(([table]) => table)}, ${
      POLICIES.map(([, name]) => name)
    }) as x(tab, name)
          where not exists (select 1 from pg_catalog.pg_policy p
            where p.polrelid = to_regclass(x.tab) and p.polname::text = x.name)),
        'rls_off', (select coalesce(json_agg(t), '[]') from unnest(${TABLES}) t
          join pg_catalog.pg_class c on c.oid = to_regclass(t)
          where not c.relrowsecurity),
        'tracked', to_regclass('supabase_migrations.schema_migrations') is not null
      ) as catalog`),
  );
  if (!row) throw new Error("The catalog query returned no row");
  return row.catalog;
}

async function appliedVersions(db: Database): Promise<Set<string>> {
  const [row] = rowsOf<{ versions: string[] }>(
    await db.query(statement`
      select coalesce(json_agg(version::text), '[]') as versions
      from supabase_migrations.schema_migrations`),
  );
  return new Set(row?.versions ?? []);
}

function checkMigrated(catalog: Catalog, missingVersions: string[], total: number): CheckResult {
  const missing: [string, string, string[]][] = [
    ["table", "tables", catalog.tables],
    ["column", "columns", catalog.columns],
    ["function", "functions", catalog.functions],
    ["trigger", "triggers", catalog.triggers],
    ["policy", "policies", catalog.policies],
  ];
  const absent = missing.filter(([, , names]) => names.length > 0);
  const details = absent.map(([, kinds, names]) => `missing ${kinds}: ${names.join(", ")}`);
  const unapplied = missingVersions.length === 0
    ? ""
    : `${missingVersions.length} of ${total} migrations not applied (${
      missingVersions.join(", ")
    })`;
  if (absent.length === 0 && missingVersions.length === 0) {
    return passed(
      `Database migrated: ${total} migrations applied; tables, columns, helpers, triggers and ` +
        `policies present`,
    );
  }
  const counted = absent.map(([kind, kinds, names]) =>
    `${names.length} ${names.length === 1 ? kind : kinds}`
  ).join(", ");
  if (absent.length === 0) {
    return failed(
      `Database not migrated: ${unapplied}`,
      `${PUSH} (if it stops because they were applied by hand: supabase migration repair ` +
        `--status applied ${missingVersions.join(" ")} ${TARGET})`,
    );
  }
  if (missingVersions.length === 0) {
    return failed(
      `Database migrations are recorded as applied, but objects are missing: ${counted}`,
      `reinstall: psql "$SUPABASE_DB_URL" -v ON_ERROR_STOP=1 -f supabase/uninstall.sql, ` +
        `then ${PUSH}`,
      details,
    );
  }
  return failed(
    `Database not migrated: ${unapplied}; missing ${counted}`,
    PUSH,
    details,
  );
}

function checkRowLevelSecurity(catalog: Catalog): CheckResult {
  if (catalog.rls_off.length === 0) {
    return passed(`Row-level security is on for ${TABLES.join(", ")}`);
  }
  return failed(
    `Row-level security is off for ${catalog.rls_off.join(", ")}`,
    "run: " +
      catalog.rls_off.map((table) => `alter table ${table} enable row level security;`).join(" "),
  );
}

/** The SQL that closes the findings: the README's fix for the quickstart, written for this table. */
function exposureFix(findings: Exposure[], publicColumns: string[], viewExists: boolean): string[] {
  const sql: string[] = [];
  const tableWide = findings.filter((f) => f.kind === "policy" || f.kind === "rls_disabled");
  if (tableWide.length > 0 && !viewExists) {
    const roles = [...new Set(tableWide.flatMap((f) => f.roles))].sort();
    sql.push(
      "create view public.public_profiles as",
      `  select ${publicColumns.map(identifier).join(", ")} from public.profiles;`,
      "revoke all on public.public_profiles from public, anon, authenticated;",
      `grant select on public.public_profiles to ${roles.join(", ")};`,
    );
  }
  for (const finding of findings) {
    if (finding.kind === "policy") sql.push(`drop ${finding.object};`);
    if (finding.kind === "rls_disabled") {
      sql.push("alter table public.profiles enable row level security;");
    }
    if (finding.object.startsWith("view ")) {
      sql.push(`alter ${finding.object} set (security_invoker = true);`);
    }
    if (finding.object.startsWith("materialized view ")) {
      sql.push(
        `revoke select on ${
          finding.object.slice("materialized view ".length)
        } from anon, authenticated;`,
      );
    }
  }
  return sql;
}

async function checkExposures(db: Database): Promise<CheckResult> {
  const results = await db.query(statement`
    select coalesce(json_agg(e), '[]') as findings from public.billing_read_exposures() e;
    select coalesce(json_agg(a.attname::text order by a.attnum), '[]') as columns,
      to_regclass('public.public_profiles') is not null as view_exists
    from pg_catalog.pg_attribute a
    where a.attrelid = to_regclass('public.profiles') and a.attnum > 0 and not a.attisdropped
      and not (a.attname::text = any (${PRIVATE_COLUMNS}))
      and (a.attname = 'id'
        or coalesce(pg_catalog.col_description(a.attrelid, a.attnum), '') not like 'billing:%')`);
  const findings = rowsOf<{ findings: Exposure[] }>(results, 0)[0]?.findings ?? [];
  const shape = rowsOf<{ columns: string[]; view_exists: boolean }>(results, 1)[0];
  if (findings.length === 0) {
    return passed("No policy, grant or view lets anon or a user read other users' billing columns");
  }
  const fix = exposureFix(findings, shape?.columns ?? ["id"], shape?.view_exists ?? false);
  const roles = [...new Set(findings.flatMap((f) => f.roles))].sort();
  return failed(
    `Other users' billing columns are readable by ${roles.join(" and ")} (${findings.length} ${
      findings.length === 1 ? "finding" : "findings"
    } below)`,
    'review and run the SQL below as postgres (README: "Who can read other users\' billing data")',
    [
      ...findings.map((f) => `${f.object}: ${f.roles.join(", ")} can read ${f.columns.join(", ")}`),
      "Fix (other users' public fields stay readable in public.public_profiles):",
      ...fix.map((line) => `  ${line}`),
    ],
  );
}

const CHECKS = [
  "Database reachable",
  "Database migrated",
  "Row-level security",
  "Billing columns private",
] as const;

/** The database checks, each saying it could not run, and why. */
export function skipDatabase(reason: string): CheckResult[] {
  return CHECKS.map((name) => skipped(name, reason));
}

/** Every database check; those after a failure that they depend on say they could not run. */
export async function checkDatabase(databaseUrl: string): Promise<CheckResult[]> {
  const db = connectDatabase(databaseUrl, { max: 1 });
  const results: CheckResult[] = [];
  const skipRest = (reason: string) => {
    for (const name of CHECKS.slice(results.length)) results.push(skipped(name, reason));
  };
  try {
    try {
      const [row] = rowsOf<{ role: string; version: string; bypasses: boolean | null }>(
        await db.query(statement`
          select current_user as role, current_setting('server_version') as version,
            (select r.rolsuper or r.rolbypassrls from pg_catalog.pg_roles r
              where r.rolname = current_user) as bypasses`),
      );
      if (row?.bypasses !== true) {
        results.push(failed(
          `Database reachable, but as "${row?.role}", a role that row-level security applies to: ` +
            "the functions' writes of billing columns would be refused",
          "use the postgres role's connection string in SUPABASE_DB_URL",
        ));
      } else {
        results.push(
          passed(`Database reachable: PostgreSQL ${row.version}, as ${row.role} (bypasses RLS)`),
        );
      }
    } catch (error) {
      results.push(failed(
        `Database unreachable: ${message(error)}`,
        'check SUPABASE_DB_URL (host, password, sslmode; README: "SUPABASE_DB_URL and TLS")',
      ));
      skipRest("the database is unreachable (above)");
      return results;
    }

    const migrations = await listMigrations(MIGRATIONS_DIR);
    let catalog: Catalog;
    let missingVersions: string[];
    try {
      catalog = await readCatalog(db);
      const applied = catalog.tracked ? await appliedVersions(db) : new Set<string>();
      missingVersions = migrations.map((m) => m.version).filter((v) => !applied.has(v));
    } catch (error) {
      results.push(failed(
        `Database schema could not be read: ${message(error)}`,
        "connect as the postgres role, then run the doctor again",
      ));
      skipRest("the schema could not be read (above)");
      return results;
    }
    results.push(checkMigrated(catalog, missingVersions, migrations.length));
    const notMigrated = "the database is not migrated (above)";
    results.push(
      catalog.tables.length > 0 ? skipped(CHECKS[2], notMigrated) : checkRowLevelSecurity(catalog),
    );
    if (
      catalog.tables.includes("public.profiles") ||
      catalog.functions.includes("public.billing_read_exposures()")
    ) {
      results.push(skipped(CHECKS[3], notMigrated));
      return results;
    }
    try {
      results.push(await checkExposures(db));
    } catch (error) {
      results.push(failed(
        `Readers of billing columns could not be listed: ${message(error)}`,
        "connect as the postgres role, then run the doctor again",
      ));
    }
    return results;
  } finally {
    await db.end({ timeoutMs: 1000 });
  }
}
