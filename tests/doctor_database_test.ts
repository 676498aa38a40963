/**
 * `deno task doctor`'s database checks on databases of each shape: not migrated, a migration's
 * object dropped, RLS off, the quickstart's "viewable by everyone" policy (and its printed fix),
 * and a database that cannot be reached.
 */
import assert from "node:assert/strict";
import { listMigrations, MIGRATIONS_DIR } from "../dev/migrations.ts";
import { connect } from "../dev/postgres.ts";
import {
  assertChecks,
  correctSetUp,
  doctorTest,
  runDoctor,
  startTestDatabase,
} from "./_support/doctor.ts";

const MIGRATIONS = await listMigrations(MIGRATIONS_DIR);

/** Runs `statements` on the database at `url`. */
async function execute(url: string, statements: string): Promise<void> {
  const sql = connect(url, { max: 1 });
  try {
    await sql.unsafe(statements);
  } finally {
    await sql.end();
  }
}

doctorTest(
  "deno task doctor fails the migration line on a database without the migrations",
  async (setUp) => {
    const database = await startTestDatabase({ migrated: false });
    try {
      const { variables } = await correctSetUp(setUp, database.url);
      const run = await runDoctor(variables);
      assertChecks(
        run,
        [
          new RegExp(
            `^✗ Database not migrated: ${MIGRATIONS.length} of ${MIGRATIONS.length} migrations not applied \\(${
              MIGRATIONS.map((m) => m.version).join(", ")
            }\\); missing 6 tables, 7 functions, 5 triggers, 2 policies → supabase db push --remote="\\$SUPABASE_DB_URL"$`,
          ),
        ],
        [
          /^✗ Row-level security: not checked, the database is not migrated \(above\)$/,
          /^✗ Billing columns private: not checked, the database is not migrated \(above\)$/,
        ],
      );
      assert.match(run.stdout, /^ {2}missing tables: public\.profiles, public\.stripe_events, /m);
      assert.match(run.stdout, /^✓ Database reachable: /m);
    } finally {
      await database.close();
    }
  },
);

doctorTest(
  "deno task doctor fails the migration line when a helper of an applied migration is gone",
  async (setUp) => {
    const database = await startTestDatabase();
    try {
      await execute(database.url, "drop function public.has_entitlement(text, uuid)");
      const { variables } = await correctSetUp(setUp, database.url);
      const run = await runDoctor(variables);
      assertChecks(run, [
        /^✗ Database migrations are recorded as applied, but objects are missing: 1 function → reinstall: psql "\$SUPABASE_DB_URL" -v ON_ERROR_STOP=1 -f supabase\/uninstall\.sql, then supabase db push --remote="\$SUPABASE_DB_URL"$/,
      ]);
      assert.match(run.stdout, /^ {2}missing functions: public\.has_entitlement\(text, uuid\)$/m);
    } finally {
      await database.close();
    }
  },
);

doctorTest(
  "deno task doctor fails the row-level security line with the SQL that turns it on",
  async (setUp) => {
    const database = await startTestDatabase();
    try {
      await execute(database.url, "alter table public.billing_plans disable row level security");
      const { variables } = await correctSetUp(setUp, database.url);
      assertChecks(await runDoctor(variables), [
        /^✗ Row-level security is off for public\.billing_plans → run: alter table public\.billing_plans enable row level security;$/,
      ]);
    } finally {
      await database.close();
    }
  },
);

doctorTest(
  "deno task doctor reports the quickstart's policy that shows every user's billing columns, and its SQL fixes it",
  async (setUp) => {
    const database = await startTestDatabase({ schema: "quickstart" });
    try {
      const { variables } = await correctSetUp(setUp, database.url);
      const run = await runDoctor(variables);
      assertChecks(run, [
        /^✗ Other users' billing columns are readable by anon and authenticated \(1 finding below\) → review and run the SQL below as postgres/,
      ]);
      assert.match(
        run.stdout,
        /^ {2}policy "Public profiles are viewable by everyone\." on public\.profiles: anon, authenticated can read .*\bemail\b.*\bstripe_customer_id\b/m,
      );
      const fix = run.lines.filter((line) => line.startsWith("    ")).map((line) => line.trim());
      assert.deepEqual(fix, [
        "create view public.public_profiles as",
        "select id, updated_at, username, full_name, avatar_url, website from public.profiles;",
        "revoke all on public.public_profiles from public, anon, authenticated;",
        "grant select on public.public_profiles to anon, authenticated;",
        'drop policy "Public profiles are viewable by everyone." on public.profiles;',
      ]);

      await execute(database.url, fix.join("\n"));
      const fixed = await runDoctor(variables);
      assertChecks(fixed, []);
      assert.match(fixed.stdout, /^✓ No policy, grant or view lets anon or a user read /m);
    } finally {
      await database.close();
    }
  },
);

doctorTest(
  "deno task doctor fails the reachability line for a database it cannot reach, and says what could not run",
  async (setUp) => {
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = listener.addr.port;
    listener.close();
    const { variables } = await correctSetUp(setUp);
    const run = await runDoctor({
      ...variables,
      SUPABASE_DB_URL: `postgres://postgres:unreachable-db-secret@127.0.0.1:${port}/postgres`,
    });
    assertChecks(
      run,
      [/^✗ Database unreachable: .* → check SUPABASE_DB_URL /],
      [
        /^✗ Database migrated: not checked, the database is unreachable \(above\)$/,
        /^✗ Row-level security: not checked, /,
        /^✗ Billing columns private: not checked, /,
      ],
    );
  },
);
