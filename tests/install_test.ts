import assert from "node:assert/strict";
import { connect, type Sql } from "../dev/postgres.ts";
import {
  applyMigrations,
  type DatabaseSchema,
  databaseSchema,
  startDatabase,
  type StartedDatabase,
} from "../dev/database.ts";
import { listMigrations, MIGRATIONS_DIR } from "../dev/migrations.ts";
import { addedObjects, catalogSnapshot, restrictTo } from "./_support/catalog_snapshot.ts";

/** Set: a PostgreSQL server gets a fresh database per test. Unset: embedded PGlite. */
const SERVER_URL = Deno.env.get("DATABASE_URL");
const UNINSTALL = new URL("../supabase/uninstall.sql", import.meta.url);

const BILLING_COLUMNS = [
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
];

/**
 * A database in `schema` as a project has it before installing billing (no migration applied),
 * and a pool on it; both closed by `fn`'s end.
 */
async function withProject(
  schema: DatabaseSchema,
  fn: (sql: Sql, db: StartedDatabase) => Promise<void>,
): Promise<void> {
  const empty = await Deno.makeTempDir({ prefix: "migrations_" });
  try {
    const db = await startDatabase({ serverUrl: SERVER_URL, schema, migrationsDir: empty });
    const sql = connect(db.url, { max: 1 });
    try {
      await fn(sql, db);
    } finally {
      await sql.end();
      await db.close();
    }
  } finally {
    await Deno.remove(empty, { recursive: true });
  }
}

async function allVersions(): Promise<string[]> {
  return (await listMigrations(MIGRATIONS_DIR)).map((migration) => migration.version);
}

async function uninstall(sql: Sql): Promise<void> {
  await sql.unsafe(await Deno.readTextFile(UNINSTALL));
}

async function recordedVersions(sql: Sql): Promise<string[]> {
  const rows = await sql<{ version: string }[]>`
    select version from supabase_migrations.schema_migrations order by version`;
  return rows.map((row) => row.version);
}

Deno.test("a quickstart-shaped database holds the quickstart's profiles and no billing", async () => {
  await withProject("quickstart", async (sql) => {
    const columns = await sql<{ name: string }[]>`
      select column_name as name from information_schema.columns
      where table_schema = 'public' and table_name = 'profiles' order by ordinal_position`;
    assert.deepEqual(columns.map((column) => column.name), [
      "id",
      "updated_at",
      "username",
      "full_name",
      "avatar_url",
      "website",
    ]);
    const [trigger] = await sql`
      select 1 from pg_trigger
      where tgrelid = 'auth.users'::regclass and tgname = 'on_auth_user_created'`;
    assert.ok(trigger);
  });
});

Deno.test("the migrations adopt the quickstart's profiles and change none of its objects", async () => {
  await withProject("quickstart", async (sql, db) => {
    const [existing] = await sql<{ id: string }[]>`
      insert into auth.users (email, raw_user_meta_data)
      values ('existing@example.com', '{"full_name": "Existing"}') returning id`;
    const [orphan] = await sql<{ id: string }[]>`
      insert into auth.users (email) values ('orphan@example.com') returning id`;
    assert.ok(existing && orphan);
    await sql`delete from public.profiles where id = ${orphan.id}`;
    const before = await catalogSnapshot(sql);

    assert.deepEqual(await applyMigrations(db.url), await allVersions());

    const after = await catalogSnapshot(sql);
    assert.deepEqual(restrictTo(after, before), before);
    const added = addedObjects(after, before);
    assert.deepEqual(
      added.filter((name) => name.startsWith("columns profiles.")).sort(),
      BILLING_COLUMNS.map((column) => `columns profiles.${column}`).sort(),
    );
    for (const name of added.filter((name) => !name.startsWith("columns "))) {
      assert.match(
        name,
        /^(relations (billing_|stripe_events)|constraints (profiles\.billing_|billing_|stripe_events\.)|indexes (billing_)|policies (profiles|billing_plans)\.billing: |functions (billing_|has_active_subscription\(|has_entitlement\()|triggers (profiles|users)\.billing_)/,
        `an object of ours is named billing_...: ${name}`,
      );
    }
    const profiles = await sql<{ id: string; email: string | null; full_name: string | null }[]>`
      select id, email, full_name from public.profiles
      where id in (${existing.id}, ${orphan.id}) order by email`;
    assert.deepEqual(profiles.map((row) => ({ ...row })), [
      { id: existing.id, email: "existing@example.com", full_name: "Existing" },
      { id: orphan.id, email: "orphan@example.com", full_name: null },
    ]);
  });
});

Deno.test("applying the migrations again changes nothing on either database", async () => {
  for (const schema of ["plain", "quickstart"] as const) {
    await withProject(schema, async (sql, db) => {
      await applyMigrations(db.url);
      const before = await catalogSnapshot(sql);
      assert.deepEqual(await applyMigrations(db.url), []);
      assert.deepEqual(await catalogSnapshot(sql), before);
    });
  }
});

Deno.test("an existing profiles column of an incompatible type stops the migration, named", async () => {
  await withProject("plain", async (sql, db) => {
    await sql.unsafe(`
      create table public.profiles (
        id uuid primary key references auth.users on delete cascade,
        nickname text,
        subscription_status integer
      )`);
    const before = await catalogSnapshot(sql);
    await assert.rejects(
      () => applyMigrations(db.url),
      (error: Error) => {
        assert.match(
          String(error.cause),
          /Column "subscription_status" of public\.profiles is integer/,
        );
        return true;
      },
    );
    assert.deepEqual(await catalogSnapshot(sql), before);
    assert.deepEqual(await recordedVersions(sql), []);
  });
});

Deno.test("an object of the project's under one of our names stops the migration, named", async () => {
  await withProject("quickstart", async (sql, db) => {
    await sql.unsafe(`
      create function public.has_entitlement(feature text) returns boolean
      language sql as 'select true'`);
    const before = await catalogSnapshot(sql);
    await assert.rejects(
      () => applyMigrations(db.url),
      (error: Error) => {
        assert.match(String(error.cause), /function "has_entitlement\(text\)"/);
        return true;
      },
    );
    assert.deepEqual(await catalogSnapshot(sql), before);
  });
});

Deno.test("a stripe_events table of another shape stops the migration, named", async () => {
  await withProject("plain", async (sql, db) => {
    await sql.unsafe(`create table public.stripe_events (id bigint primary key, payload jsonb)`);
    await assert.rejects(
      () => applyMigrations(db.url),
      (error: Error) => {
        assert.match(String(error.cause), /public\.stripe_events already exists with columns/);
        return true;
      },
    );
  });
});

Deno.test("uninstall.sql returns the quickstart database to the quickstart alone", async () => {
  await withProject("quickstart", async (sql, db) => {
    const before = await catalogSnapshot(sql);
    await applyMigrations(db.url);
    const user = await sql<{ id: string }[]>`
      insert into auth.users (email) values ('kept@example.com') returning id`;
    await uninstall(sql);
    assert.deepEqual(await catalogSnapshot(sql), before);
    assert.deepEqual(await recordedVersions(sql), []);
    const [kept] = await sql`select full_name from public.profiles where id = ${user[0]?.id ?? ""}`;
    assert.ok(kept, "the project's rows stay");

    assert.deepEqual(await applyMigrations(db.url), await allVersions());
    const [email] = await sql`select email from public.profiles where id = ${user[0]?.id ?? ""}`;
    assert.equal(email?.email, "kept@example.com");
  });
});

Deno.test("uninstall.sql removes everything of ours from the plain database", async () => {
  await withProject("plain", async (sql, db) => {
    const before = await catalogSnapshot(sql);
    await applyMigrations(db.url);
    await uninstall(sql);
    assert.deepEqual(await catalogSnapshot(sql), before);
    assert.deepEqual(await recordedVersions(sql), []);
    assert.deepEqual(await applyMigrations(db.url), await allVersions());
  });
});

Deno.test("uninstall.sql stops, removing nothing, when a project's policy uses our helper", async () => {
  await withProject("quickstart", async (sql, db) => {
    await applyMigrations(db.url);
    await sql.unsafe(`
      create table public.projects (id int primary key);
      alter table public.projects enable row level security;
      create policy "Entitled users read projects" on public.projects for select
        using ((select public.has_entitlement('projects')));`);
    const installed = await catalogSnapshot(sql);
    await assert.rejects(() => uninstall(sql), /has_entitlement|depends on/);
    // The file's own transaction is left aborted on this connection, as psql would leave it.
    await sql.unsafe("rollback");
    assert.deepEqual(await catalogSnapshot(sql), installed);
  });
});

Deno.test("uninstall.sql names every migration's version", async () => {
  const text = await Deno.readTextFile(UNINSTALL);
  const versions = /versions constant text\[\] := array\[([^\]]*)\]/.exec(text)?.[1] ?? "";
  assert.deepEqual(
    [...versions.matchAll(/'(\d{14})'/g)].map((match) => match[1]),
    await allVersions(),
  );
});

Deno.test("DATABASE_SCHEMA is plain when unset, quickstart when asked, and nothing else", () => {
  assert.equal(databaseSchema(undefined), "plain");
  assert.equal(databaseSchema(""), "plain");
  assert.equal(databaseSchema("plain"), "plain");
  assert.equal(databaseSchema("quickstart"), "quickstart");
  assert.throws(() => databaseSchema("Quickstart"), /Unknown database schema "Quickstart"/);
});
