/**
 * Supabase-shaped databases for local development and tests: a fresh database on a PostgreSQL
 * server, or an embedded PGlite served over the wire protocol; either with every migration applied.
 */
import { PGlite, type PGliteInterface } from "@electric-sql/pglite";
import { connect } from "./postgres.ts";
import { applyMigrations, applyProjectSchema, QUICKSTART_FIXTURE } from "./migrations.ts";
import { servePglite } from "./pglite_server.ts";

export { applyMigrations } from "./migrations.ts";

/** A database ready for the functions: shim and migrations applied. */
export interface StartedDatabase {
  /** Connection string for `connect()`. */
  url: string;
  /** Drops the database (server) or stops the wire server and PGlite (embedded). */
  close(): Promise<void>;
}

/** Options for {@link startDatabase}. */
export interface StartDatabaseOptions {
  /** A PostgreSQL server URL: a new database is created on it and dropped on close. */
  serverUrl?: string;
  /** PGlite's data folder, kept between runs; in memory when unset. Ignored with `serverUrl`. */
  dataDir?: string;
  /** Port of the embedded database's wire server on 127.0.0.1; 0 (the default) picks a free one. */
  port?: number;
  /** Migrations to apply; `supabase/migrations` when unset. */
  migrationsDir?: string | URL;
  /**
   * What the database holds before the migrations: `plain` (the default) only the Supabase shim;
   * `quickstart` also Supabase's user-management quickstart `profiles` schema with the grants
   * older projects have, as a project that installs billing into an existing app has it.
   */
  schema?: DatabaseSchema;
}

/** The shapes {@link startDatabase} can start a database in, before the migrations. */
export type DatabaseSchema = "plain" | "quickstart";

/** Reads a {@link DatabaseSchema} from an environment value: unset or empty is `plain`. */
export function databaseSchema(value: string | undefined): DatabaseSchema {
  if (value === undefined || value === "" || value === "plain") return "plain";
  if (value === "quickstart") return "quickstart";
  throw new Error(`Unknown database schema "${value}": use "plain" or "quickstart"`);
}

async function hasShim(url: string): Promise<boolean> {
  const sql = connect(url, { max: 1 });
  try {
    const [row] = await sql<{ shim: boolean }[]>`
      select to_regclass('auth.users') is not null as shim`;
    return row?.shim === true;
  } finally {
    await sql.end();
  }
}

/** Applies what the database holds before the migrations, for `schema`. */
async function prepareSchema(url: string, schema: DatabaseSchema | undefined): Promise<void> {
  if (schema === "quickstart") await applyProjectSchema(url, QUICKSTART_FIXTURE);
}

/** Starts a Supabase-shaped database with every migration applied. */
export async function startDatabase(options: StartDatabaseOptions = {}): Promise<StartedDatabase> {
  return options.serverUrl
    ? await startServerDatabase(options.serverUrl, options)
    : await startEmbeddedDatabase(options);
}

const LOOPBACK = new Set(["127.0.0.1", "localhost", "[::1]"]);

async function startServerDatabase(
  serverUrl: string,
  options: StartDatabaseOptions,
): Promise<StartedDatabase> {
  const name = `billing_${Date.now().toString(36)}_${crypto.randomUUID().slice(0, 8)}`;
  const admin = connect(serverUrl, { max: 1 });
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  // These databases are for tests and benchmarks. On a loopback server they speak plain text
  // unless the server URL names an sslmode: the fault proxies and round-trip relays in front of
  // them read the protocol, and a local server's certificate (Debian's snakeoil, a throwaway CA)
  // is one the functions' client, which never falls back from TLS, would refuse.
  if (LOOPBACK.has(url.hostname) && !url.searchParams.has("sslmode")) {
    url.searchParams.set("sslmode", "disable");
  }
  try {
    await admin.unsafe(`create database "${name}"`);
  } catch (error) {
    await admin.end();
    throw new Error(`Could not create database "${name}"`, { cause: error });
  }
  const drop = async () => {
    try {
      await admin.unsafe(`drop database if exists "${name}" with (force)`);
    } finally {
      await admin.end();
    }
  };
  try {
    await prepareSchema(url.href, options.schema);
    await applyMigrations(url.href, options);
  } catch (error) {
    await drop();
    throw error;
  }
  return { url: url.href, close: drop };
}

async function startEmbeddedDatabase(options: StartDatabaseOptions): Promise<StartedDatabase> {
  let db: PGliteInterface;
  let migrated = false;
  if (options.dataDir) {
    await Deno.mkdir(options.dataDir, { recursive: true });
    db = await PGlite.create({ dataDir: options.dataDir });
  } else if (options.migrationsDir) {
    db = await PGlite.create();
  } else {
    db = await (await migratedTemplate(options.schema ?? "plain")).clone();
    migrated = true;
  }
  const server = servePglite(db, { port: options.port ?? 0 });
  const url = `postgres://postgres@127.0.0.1:${server.port}/postgres`;
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await server.close();
    await db.close();
  };
  if (migrated) return { url, close };
  try {
    // A data folder prepared in an earlier run already has its schema.
    if (options.schema === "quickstart" && !(await hasShim(url))) {
      await prepareSchema(url, options.schema);
    }
    await applyMigrations(url, options);
  } catch (error) {
    await close();
    throw error;
  }
  return { url, close };
}

/**
 * In-memory databases with the repository's migrations are clones of one migrated PGlite:
 * cloning takes a fraction of a second, creating and migrating one takes seconds. A clone already
 * has the shim and every migration, so `startDatabase` serves it as is; the template is made once
 * per process, so a migration file added while the process runs reaches only new processes.
 */
const templates = new Map<DatabaseSchema, Promise<PGlite>>();

function migratedTemplate(schema: DatabaseSchema): Promise<PGlite> {
  let template = templates.get(schema);
  if (!template) {
    template = createTemplate(schema);
    templates.set(schema, template);
    template.catch(() => templates.delete(schema));
  }
  return template;
}

async function createTemplate(schema: DatabaseSchema): Promise<PGlite> {
  const db = await PGlite.create();
  const server = servePglite(db);
  try {
    const url = `postgres://postgres@127.0.0.1:${server.port}/postgres`;
    await prepareSchema(url, schema);
    await applyMigrations(url);
  } catch (error) {
    await server.close();
    await db.close();
    throw error;
  }
  await server.close();
  return db;
}
