/** Applies the Supabase shim and pending migrations, tracked the way the Supabase CLI tracks them. */
import { connect, type Sql } from "./postgres.ts";

/** Where the migrations live in this repository. */
export const MIGRATIONS_DIR = new URL("../supabase/migrations/", import.meta.url);
const SHIM_PATH = new URL("./supabase_shim.sql", import.meta.url);
/** Supabase's user-management quickstart schema, with the grants older projects have. */
export const QUICKSTART_FIXTURE = new URL("../tests/fixtures/quickstart.sql", import.meta.url);

const MIGRATION_FILE = /^(\d{14})_(.+)\.sql$/;

/** A migration file: `<version>_<name>.sql`. */
export interface Migration {
  version: string;
  name: string;
  path: string;
}

/** Options for {@link applyMigrations}. */
export interface ApplyMigrationsOptions {
  /** Folder of `YYYYMMDDHHmmss_name.sql` files; `supabase/migrations` when unset. */
  migrationsDir?: string | URL;
}

/**
 * Applies the shim, then every migration not yet recorded in
 * `supabase_migrations.schema_migrations`, each in its own transaction with its tracking row.
 * Returns the versions newly applied, oldest first.
 */
export async function applyMigrations(
  url: string,
  options: ApplyMigrationsOptions = {},
): Promise<string[]> {
  const migrations = await listMigrations(options.migrationsDir ?? MIGRATIONS_DIR);
  const shim = await Deno.readTextFile(SHIM_PATH);
  const sql = connect(url, { max: 1 });
  try {
    await applyShim(sql, shim);
    await sql.unsafe(`
      create schema if not exists supabase_migrations;
      create table if not exists supabase_migrations.schema_migrations (
        version text primary key,
        statements text[],
        name text
      );
    `);
    const rows = await sql<{ version: string }[]>`
      select version from supabase_migrations.schema_migrations
    `;
    const applied = new Set(rows.map((row) => row.version));
    const newlyApplied: string[] = [];
    for (const migration of migrations) {
      if (applied.has(migration.version)) continue;
      const text = await Deno.readTextFile(migration.path);
      try {
        await sql.begin(async (tx) => {
          await tx.unsafe(text);
          await tx`
            insert into supabase_migrations.schema_migrations (version, statements, name)
            values (${migration.version}, ${splitStatements(text)}, ${migration.name})
          `;
        });
      } catch (error) {
        throw new Error(`Migration "${migration.version}_${migration.name}" failed`, {
          cause: error,
        });
      }
      newlyApplied.push(migration.version);
    }
    return newlyApplied;
  } finally {
    await sql.end();
  }
}

/**
 * Makes the database at `url` look like a project before it installs billing: the shim, then
 * `schemaFile` (such as {@link QUICKSTART_FIXTURE}), in one transaction.
 */
export async function applyProjectSchema(url: string, schemaFile: string | URL): Promise<void> {
  const [shim, schema] = await Promise.all([
    Deno.readTextFile(SHIM_PATH),
    Deno.readTextFile(schemaFile),
  ]);
  const sql = connect(url, { max: 1 });
  try {
    await applyShim(sql, shim);
    await sql.begin((tx) => tx.unsafe(schema));
  } finally {
    await sql.end();
  }
}

/** The migration files in `dir`, oldest first. */
export async function listMigrations(dir: string | URL): Promise<Migration[]> {
  const migrations: Migration[] = [];
  const base = typeof dir === "string" ? dir : dir.pathname;
  for await (const entry of Deno.readDir(dir)) {
    const match = entry.isFile ? MIGRATION_FILE.exec(entry.name) : null;
    if (!match?.[1] || !match[2]) continue;
    migrations.push({ version: match[1], name: match[2], path: `${base}/${entry.name}` });
  }
  return migrations.sort((a, b) => a.version.localeCompare(b.version));
}

/**
 * Runs the shim. Roles are cluster-wide, so databases prepared at the same time on one server can
 * collide on them ("tuple concurrently updated"); the shim is idempotent, so try again.
 */
async function applyShim(sql: Sql, shim: string): Promise<void> {
  for (let attempt = 1;; attempt++) {
    try {
      await sql.begin((tx) => tx.unsafe(shim));
      return;
    } catch (error) {
      if (attempt >= 5 || !isConcurrentCatalogUpdate(error)) {
        throw new Error("Supabase shim failed", { cause: error });
      }
      await new Promise((resolve) => setTimeout(resolve, 50 * attempt));
    }
  }
}

function isConcurrentCatalogUpdate(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = "code" in error ? error.code : undefined;
  return code === "XX000" || code === "23505" || code === "40001" || code === "40P01" ||
    code === "42710";
}

/**
 * Splits SQL into statements the way the Supabase CLI records them in `statements`: on top-level
 * semicolons, outside quotes, dollar quotes and comments.
 */
export function splitStatements(text: string): string[] {
  const statements: string[] = [];
  let start = 0;
  let i = 0;
  while (i < text.length) {
    const char = text[i];
    const next = text[i + 1];
    if (char === "-" && next === "-") {
      const end = text.indexOf("\n", i);
      i = end === -1 ? text.length : end + 1;
    } else if (char === "/" && next === "*") {
      const end = text.indexOf("*/", i + 2);
      i = end === -1 ? text.length : end + 2;
    } else if (char === "'" || char === '"') {
      let j = i + 1;
      while (j < text.length) {
        if (text[j] === char) {
          if (text[j + 1] === char) j += 2;
          else break;
        } else j++;
      }
      i = j + 1;
    } else if (char === "$") {
      const tag = /^\$[A-Za-z_]*\$/.exec(text.slice(i))?.[0];
      if (tag) {
        const end = text.indexOf(tag, i + tag.length);
        i = end === -1 ? text.length : end + tag.length;
      } else i++;
    } else if (char === ";") {
      pushStatement(statements, text.slice(start, i + 1));
      start = ++i;
    } else i++;
  }
  pushStatement(statements, text.slice(start));
  return statements;
}

function pushStatement(statements: string[], statement: string): void {
  const withoutComments = statement.replace(/--[^\n]*/g, "").trim();
  if (withoutComments !== "" && withoutComments !== ";") statements.push(statement.trim());
}
