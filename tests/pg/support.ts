/**
 * What the tests of the functions' Postgres client (`supabase/functions/_shared/pg/`) share: a
 * database per test file (the embedded PGlite, or a fresh one on the server named by
 * DATABASE_URL) with postgres.js on it to set up and read back, promise and assertion helpers, a
 * scripted server for faults a real one will not commit, a relay that records the bytes on the
 * wire, and how to reach the DATABASE_URL server over TLS.
 *
 * Password tests need the server at 127.0.0.1:5432 with the pg_hba.conf lines `.ci/run` adds, and
 * run when DATABASE_AUTH_TESTS=1.
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { createHash, createHmac, pbkdf2Sync, X509Certificate } from "node:crypto";
import { PGlite } from "@electric-sql/pglite";
import { startDatabase, type StartedDatabase } from "../../dev/database.ts";
import { servePglite } from "../../dev/pglite_server.ts";
import { connect, type Sql } from "../../dev/postgres.ts";
import {
  createPool,
  PgConnectionError,
  type PgConnectionErrorCode,
  PgError,
  type Pool,
  type PoolOptions,
  type QueryResult,
  type SqlText,
} from "../../supabase/functions/_shared/pg/mod.ts";
import { startDatabaseProxy, type TcpProxy } from "../_support/tcp_proxy.ts";
import { within } from "../_support/time.ts";

export { contains } from "../_support/bytes.ts";
export { sleep, within } from "../_support/time.ts";

export const DATABASE_URL = Deno.env.get("DATABASE_URL") || undefined;
export const ON_SERVER = DATABASE_URL !== undefined;
/** The server of the password tests: they change roles, so never through DATABASE_URL. */
export const SERVER_URL = "postgres://postgres@127.0.0.1:5432/postgres";
export const AUTH_TESTS = Deno.env.get("DATABASE_AUTH_TESTS") === "1";
export const TLS_FIXTURES = new URL("../fixtures/tls/", import.meta.url);
/** The throwaway CA of the TLS fixtures, which signed the relay's (and CI's server's) certificate. */
export const CA_FILE = new URL("ca.crt", TLS_FIXTURES).pathname;
export const SSL_REQUEST_CODE = 80877103;

export const encoder = new TextEncoder();
export const decoder = new TextDecoder();

/**
 * Test SQL built from generated names (tables, roles), sent as written. The functions' code has
 * no such door: its SQL comes from `statement` alone.
 */
export function testSql(text: string): SqlText {
  return text as SqlText;
}

/** What `promise` rejects with; fails when it resolves or does not settle within `ms`. */
export async function rejection(promise: Promise<unknown>, ms = 5_000): Promise<unknown> {
  const outcome = await within(
    promise.then(
      (value) => ({ rejected: false as const, value }),
      (error: unknown) => ({ rejected: true as const, error }),
    ),
    ms,
  );
  if (!outcome.rejected) assert.fail(`Expected a rejection, got ${Deno.inspect(outcome.value)}`);
  return outcome.error;
}

export function assertConnectionError(
  error: unknown,
  code: PgConnectionErrorCode,
): asserts error is PgConnectionError {
  assert.ok(error instanceof PgConnectionError, `Not a PgConnectionError: ${Deno.inspect(error)}`);
  assert.equal(error.code, code, Deno.inspect(error));
}

export function assertPgError(error: unknown, code: string): asserts error is PgError {
  assert.ok(error instanceof PgError, `Not a PgError: ${Deno.inspect(error)}`);
  assert.equal(error.code, code, Deno.inspect(error));
}

/** Asserts that neither the error, nor its cause, nor anything printed of it holds `secret`. */
export function assertNoSecret(error: unknown, secret: string) {
  assert.ok(!Deno.inspect(error, { depth: 10 }).includes(secret), "The error shows the password");
  assert.ok(!String(error).includes(secret), "The error's message holds the password");
}

/** The rows of the result at `index`. */
export function rowsOf(results: QueryResult[], index = 0): Record<string, unknown>[] {
  const result = results[index];
  assert.ok(result, `No result at ${index} among ${results.length}`);
  return result.rows;
}

/** The first row of the last statement of `text`. */
export async function row(pool: Pool, text: SqlText): Promise<Record<string, unknown>> {
  const results = await pool.query(text);
  const first = rowsOf(results, results.length - 1)[0];
  assert.ok(first, `No row from ${text}`);
  return first;
}

export function uniqueName(prefix: string): string {
  return `${prefix}_${crypto.randomUUID().replaceAll("-", "").slice(0, 12)}`;
}

/** Runs `fn` with a pool that is ended afterwards, whatever happens. */
export async function withPool<T>(
  url: string,
  options: PoolOptions,
  fn: (pool: Pool) => Promise<T>,
): Promise<T> {
  const pool = createPool(url, options);
  try {
    return await fn(pool);
  } finally {
    await pool.end({ timeoutMs: 1_000 });
  }
}

/** Runs `fn` with a pool behind a fault proxy in front of `url`; both closed afterwards. */
export async function withProxiedPool(
  url: string,
  options: PoolOptions,
  fn: (pool: Pool, proxy: TcpProxy) => Promise<void>,
): Promise<void> {
  const proxy = startDatabaseProxy(url);
  try {
    await withPool(proxy.urlFor(url), options, (pool) => fn(pool, proxy));
  } finally {
    await proxy.close();
  }
}

export function withParams(url: string, params: Record<string, string>): string {
  const out = new URL(url);
  for (const [key, value] of Object.entries(params)) out.searchParams.set(key, value);
  return out.href;
}

export function concat(chunks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((sum, chunk) => sum + chunk.length, 0));
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.length;
  }
  return out;
}

export function portOf(listener: Deno.Listener): number {
  return (listener.addr as Deno.NetAddr).port;
}

export function closeQuietly(closable: { close(): void }) {
  try {
    closable.close();
  } catch {
    // Already closed.
  }
}

/** Copies `from` to `to` until either ends, then closes both; `seen` gets every chunk. */
export async function pipe(from: Deno.Conn, to: Deno.Conn, seen?: (chunk: Uint8Array) => void) {
  const buffer = new Uint8Array(64 * 1024);
  try {
    while (true) {
      const count = await from.read(buffer);
      if (count === null) break;
      seen?.(buffer.slice(0, count));
      for (let at = 0; at < count;) at += await to.write(buffer.subarray(at, count));
    }
  } catch {
    // Either side went away.
  } finally {
    closeQuietly(from);
    closeQuietly(to);
  }
}

/** Reads exactly `size` bytes, or null when the peer closes first. */
export async function readExactly(conn: Deno.Conn, size: number): Promise<Uint8Array | null> {
  const out = new Uint8Array(size);
  for (let at = 0; at < size;) {
    const count = await conn.read(out.subarray(at));
    if (count === null) return null;
    at += count;
  }
  return out;
}

// ---- the shared database ------------------------------------------------------------------------

/** The database of a test file, and postgres.js on it to set up and read back. */
export interface TestDatabase {
  url: string;
  sql: Sql;
}

let shared: Promise<{ started: StartedDatabase; sql: Sql }> | undefined;

/**
 * A fresh database on the DATABASE_URL server, else a bare embedded PGlite on its wire server:
 * these tests need no Supabase schema, and a bare PGlite starts in a fraction of the time a
 * migrated one takes.
 */
async function startTestDatabase(): Promise<StartedDatabase> {
  if (DATABASE_URL !== undefined) return await startDatabase({ serverUrl: DATABASE_URL });
  const db = await PGlite.create();
  const server = servePglite(db);
  return {
    url: `postgres://postgres@127.0.0.1:${server.port}/postgres`,
    async close() {
      await server.close();
      await db.close();
    },
  };
}

function sharedDatabase(): Promise<{ started: StartedDatabase; sql: Sql }> {
  shared ??= startTestDatabase().then((started) => ({
    started,
    sql: connect(started.url, { max: 2 }),
  }));
  return shared;
}

// Each test file runs in a runtime of its own, with its own copy of this module: the database
// it started closes after its last test.
Deno.test.afterAll(async () => {
  if (shared === undefined) return;
  const { started, sql } = await shared;
  shared = undefined;
  await sql.end();
  await started.close();
});

/**
 * A test on the file's shared database. It outlives each test, so Deno's sanitizers are off; every
 * test makes its own tables and pools.
 */
export function dbTest(
  name: string,
  fn: (db: TestDatabase) => Promise<void>,
  options: { ignore?: boolean } = {},
): void {
  Deno.test({
    name,
    ignore: options.ignore ?? false,
    sanitizeOps: false,
    sanitizeResources: false,
    fn: async () => {
      const { started, sql } = await sharedDatabase();
      await fn({ url: started.url, sql });
    },
  });
}

/** A new table with an integer primary key `n` (or the given columns), for one test. */
export async function newTable(db: TestDatabase, columns = "n int primary key"): Promise<string> {
  const name = uniqueName("t");
  await db.sql.unsafe(`create table ${name} (${columns})`);
  return name;
}

/** The `n` column of a table, read through postgres.js. */
export async function numbersIn(db: TestDatabase, table: string): Promise<number[]> {
  const rows = await db.sql.unsafe<{ n: number }[]>(`select n from ${table} order by n`);
  return rows.map((r) => r.n);
}

/**
 * SCRAM-SHA-256 computed independently of the client (RFC 5802 section 3, on node:crypto): the client
 * final message and the server final message for a client-first-bare and server-first message.
 */
export function scramReference(password: string, clientFirstBare: string, serverFirst: string) {
  const attributes = new Map(serverFirst.split(",").map((part) => [part[0], part.slice(2)]));
  const salt = Buffer.from(attributes.get("s") ?? "", "base64");
  const salted = pbkdf2Sync(password, salt, Number(attributes.get("i")), 32, "sha256");
  const clientKey = createHmac("sha256", salted).update("Client Key").digest();
  const storedKey = createHash("sha256").update(clientKey).digest();
  const withoutProof = `c=biws,r=${attributes.get("r")}`;
  const authMessage = `${clientFirstBare},${serverFirst},${withoutProof}`;
  const clientSignature = createHmac("sha256", storedKey).update(authMessage).digest();
  const proof = Buffer.from(clientKey.map((byte, i) => byte ^ (clientSignature[i] ?? 0)));
  const serverKey = createHmac("sha256", salted).update("Server Key").digest();
  const serverSignature = createHmac("sha256", serverKey).update(authMessage).digest("base64");
  return {
    clientFinal: `${withoutProof},p=${proof.toString("base64")}`,
    serverFinal: `v=${serverSignature}`,
  };
}
// ---- a scripted server --------------------------------------------------------------------------

/** A message from the client: its type letter and body. */
export interface ClientMessage {
  type: string;
  body: Uint8Array;
}

/** A backend message: a type letter and its parts (strings NUL-terminated, numbers int32). */
export function backend(type: string, ...parts: (string | number | Uint8Array)[]): Uint8Array {
  const body = concat(parts.map((part) => {
    if (typeof part === "string") return encoder.encode(`${part}\0`);
    if (typeof part === "number") {
      const bytes = new Uint8Array(4);
      new DataView(bytes.buffer).setInt32(0, part);
      return bytes;
    }
    return part;
  }));
  const out = new Uint8Array(5 + body.length);
  out[0] = type.charCodeAt(0);
  new DataView(out.buffer).setInt32(1, 4 + body.length);
  out.set(body, 5);
  return out;
}

export const AUTH_OK = backend("R", 0);
export const READY = backend("Z", encoder.encode("I"));

/** An ErrorResponse (or a FATAL one) with a SQLSTATE and message. */
export function errorMessage(code: string, message: string, severity = "ERROR"): Uint8Array {
  return backend("E", `S${severity}`, `V${severity}`, `C${code}`, `M${message}`, new Uint8Array(1));
}

/** One client connection, as the server sees it. */
export class Peer {
  readonly conn: Deno.Conn;

  constructor(conn: Deno.Conn) {
    this.conn = conn;
  }

  /** SSLRequests this client sent; each was declined, as by a server without TLS. */
  sslRequests = 0;

  /** The startup message's parameters. */
  async startup(): Promise<Map<string, string>> {
    let header = await readExactly(this.conn, 8);
    while (header && new DataView(header.buffer).getInt32(4) === SSL_REQUEST_CODE) {
      this.sslRequests += 1;
      await this.send(encoder.encode("N"));
      header = await readExactly(this.conn, 8);
    }
    assert.ok(header, "No startup message");
    const length = new DataView(header.buffer).getInt32(0);
    const body = await readExactly(this.conn, length - 8);
    assert.ok(body, "No startup message body");
    const parts = decoder.decode(body).split("\0");
    const parameters = new Map<string, string>();
    for (let i = 0; i + 1 < parts.length && parts[i] !== ""; i += 2) {
      parameters.set(parts[i] ?? "", parts[i + 1] ?? "");
    }
    return parameters;
  }

  /** The next message, or null when the client has gone. */
  async next(): Promise<ClientMessage | null> {
    const header = await readExactly(this.conn, 5).catch(() => null);
    if (!header) return null;
    const length = new DataView(header.buffer).getInt32(1);
    const body = await readExactly(this.conn, length - 4).catch(() => null);
    if (!body) return null;
    return { type: String.fromCharCode(header[0] ?? 0), body };
  }

  async send(...messages: Uint8Array[]) {
    const bytes = concat(messages);
    for (let at = 0; at < bytes.length;) at += await this.conn.write(bytes.subarray(at));
  }

  /** Answers every query with an empty SELECT until the client leaves. */
  async serveQueries() {
    for (let message = await this.next(); message; message = await this.next()) {
      if (message.type === "X") return;
      if (message.type === "Q") await this.send(backend("C", "SELECT 0"), READY);
    }
  }
}

/** A server on 127.0.0.1 that runs `session` for each connection (numbered from 0). */
export interface ScriptedServer {
  port: number;
  /** A URL for this server with the given user and password. */
  url(user?: string, password?: string): string;
  readonly accepted: number;
  close(): Promise<void>;
}

export function scriptedServer(
  session: (peer: Peer, index: number) => Promise<void>,
): ScriptedServer {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = portOf(listener);
  const sessions = new Set<Promise<void>>();
  const conns = new Set<Deno.Conn>();
  let accepted = 0;
  const accepting = (async () => {
    for await (const conn of listener) {
      const index = accepted++;
      conns.add(conn);
      const done = session(new Peer(conn), index)
        .catch(() => {}) // a session ends when its client goes
        .finally(() => {
          conns.delete(conn);
          closeQuietly(conn);
        });
      sessions.add(done);
    }
  })().catch(() => {});
  return {
    port,
    url: (user = "app", password) =>
      `postgres://${user}${password === undefined ? "" : `:${password}`}@127.0.0.1:${port}/appdb`,
    get accepted() {
      return accepted;
    },
    async close() {
      listener.close();
      await accepting;
      for (const conn of conns) closeQuietly(conn);
      await Promise.all(sessions);
    },
  };
}

/** A scripted server's SCRAM-SHA-256 login, checking the client's proof with the reference. */
export async function scramLogin(peer: Peer, password: string, tamper: boolean) {
  await peer.startup();
  await peer.send(backend("R", 10, "SCRAM-SHA-256", new Uint8Array(1)));
  const initial = await peer.next();
  assert.ok(initial && initial.type === "p");
  const mechanismEnd = initial.body.indexOf(0);
  assert.equal(decoder.decode(initial.body.subarray(0, mechanismEnd)), "SCRAM-SHA-256");
  const clientFirst = decoder.decode(initial.body.subarray(mechanismEnd + 5));
  assert.match(clientFirst, /^n,,n=,r=/);
  const clientFirstBare = clientFirst.slice(3);
  const clientNonce = clientFirstBare.slice("n=,r=".length);
  const serverFirst = `r=${clientNonce}srvNonce,s=QSXCR+Q6sek8bf92,i=4096`;
  await peer.send(backend("R", 11, encoder.encode(serverFirst)));
  const final = await peer.next();
  assert.ok(final && final.type === "p");
  const expected = scramReference(password, clientFirstBare, serverFirst);
  if (decoder.decode(final.body) !== expected.clientFinal) {
    await peer.send(errorMessage("28P01", "password authentication failed", "FATAL"));
    return;
  }
  const serverFinal = tamper
    ? `v=${btoa("not the server's signature!!!!!!")}`
    : expected.serverFinal;
  await peer.send(backend("R", 12, encoder.encode(serverFinal)), AUTH_OK, READY);
  await peer.serveQueries();
}

// ---- a recording relay --------------------------------------------------------------------------

/** A TCP relay in front of a server that keeps every byte the clients sent. */
export interface RecordingRelay {
  port: number;
  /** `url` pointed at the relay. */
  urlFor(url: string): string;
  /** Every byte the clients sent, as it went over the wire. */
  clientBytes(): Uint8Array;
  close(): Promise<void>;
}

/** Relays 127.0.0.1:<port> to `target` byte for byte, TLS included, recording the client's side. */
export function startRecordingRelay(target: { hostname: string; port: number }): RecordingRelay {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const conns = new Set<Deno.Conn>();
  const tasks = new Set<Promise<void>>();
  const sent: Uint8Array[] = [];
  const serve = async (client: Deno.Conn) => {
    conns.add(client);
    const server = await Deno.connect(target);
    conns.add(server);
    await Promise.all([pipe(client, server, (chunk) => sent.push(chunk)), pipe(server, client)]);
  };
  const accepting = (async () => {
    for await (const conn of listener) {
      const task = serve(conn).catch(() => {}).finally(() => tasks.delete(task));
      tasks.add(task);
    }
  })().catch(() => {});
  return {
    port: portOf(listener),
    urlFor(url) {
      const relayed = new URL(url);
      relayed.hostname = "127.0.0.1";
      relayed.port = String(portOf(listener));
      return relayed.href;
    },
    clientBytes: () => concat(sent),
    async close() {
      listener.close();
      await accepting;
      for (const conn of conns) closeQuietly(conn);
      await Promise.all([...tasks]);
    },
  };
}

// ---- the server's own TLS -----------------------------------------------------------------------

/**
 * How to reach the DATABASE_URL server over TLS, when it has `ssl = on`: a name on its certificate
 * that reaches it, and the file to trust (the fixtures' CA when it signed the certificate, as on
 * CI, else the certificate itself). Undefined when any of it is missing; CI requires it.
 */
export async function serverTlsTarget(
  serverUrl = DATABASE_URL,
): Promise<{ url: string; rootFile: string } | undefined> {
  if (serverUrl === undefined) return undefined;
  const target = await findServerTls(serverUrl);
  if (target === undefined && Deno.env.get("CI") === "true") {
    throw new Error("CI runs on a server with TLS (.ci/run turns it on), but none was found");
  }
  return target;
}

async function findServerTls(
  serverUrl: string,
): Promise<{ url: string; rootFile: string } | undefined> {
  const sql = connect(serverUrl, { max: 1 });
  try {
    const [settings] = await sql`select current_setting('ssl') as ssl,
      current_setting('ssl_cert_file') as cert, current_setting('data_directory') as data`;
    if (settings?.ssl !== "on") return undefined;
    const certFile = String(settings.cert).startsWith("/")
      ? String(settings.cert)
      : `${settings.data}/${settings.cert}`;
    const certificate = new X509Certificate(await Deno.readTextFile(certFile));
    const ca = new X509Certificate(await Deno.readTextFile(CA_FILE));
    const rootFile = certificate.checkIssued(ca) ? CA_FILE : certFile;
    const server = new URL(serverUrl);
    for (const name of [Deno.hostname(), "localhost"]) {
      if (certificate.checkHost(name) === undefined) continue;
      try {
        const probe = await Deno.connect({ hostname: name, port: Number(server.port || 5432) });
        probe.close();
      } catch {
        continue;
      }
      server.hostname = name;
      return { url: server.href, rootFile };
    }
    return undefined;
  } catch {
    return undefined;
  } finally {
    await sql.end();
  }
}
