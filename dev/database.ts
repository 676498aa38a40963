/**
 * Supabase-shaped databases for local development and tests: a fresh database on a PostgreSQL
 * server, or an embedded PGlite served over the wire protocol; either with every migration applied.
 */
import { PGlite, type PGliteInterface } from "@electric-sql/pglite";
import { connect } from "./postgres.ts";
import { applyMigrations } from "./migrations.ts";
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
    db = await (await migratedTemplate()).clone();
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
let template: Promise<PGlite> | null = null;

function migratedTemplate(): Promise<PGlite> {
  if (!template) {
    template = createTemplate();
    template.catch(() => template = null);
  }
  return template;
}

async function createTemplate(): Promise<PGlite> {
  const db = await PGlite.create();
  const server = servePglite(db);
  try {
    await applyMigrations(`postgres://postgres@127.0.0.1:${server.port}/postgres`);
  } catch (error) {
    await server.close();
    await db.close();
    throw error;
  }
  await server.close();
  return db;
}
