/**
 * The functions' own Postgres client (`supabase/functions/_shared/pg.ts`) on the wire: URL
 * parsing, SCRAM against RFC 7677, authentication and protocol faults against a scripted server,
 * values read back, errors, transactions and their round trips, the pool under concurrency and
 * faults, password authentication on the server, and TLS through a local TLS-terminating relay.
 *
 * The database is the embedded PGlite, or a fresh one on the server named by DATABASE_URL; what
 * is written is read back through postgres.js (`dev/postgres.ts`), a second, widely used driver.
 * Password tests need the server at 127.0.0.1:5432 with the pg_hba.conf lines `.ci/run` adds,
 * and run when DATABASE_AUTH_TESTS=1.
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { createHash, createHmac, pbkdf2Sync, X509Certificate } from "node:crypto";
import { countRoundTrips } from "../bench/round_trips.ts";
import { startDatabase, type StartedDatabase } from "../dev/database.ts";
import { connect, type Sql } from "../dev/postgres.ts";
import { literal } from "../supabase/functions/_shared/db.ts";
import {
  createPool,
  parseDatabaseUrl,
  PgConnectionError,
  type PgConnectionErrorCode,
  PgError,
  type Pool,
  type PoolOptions,
  type QueryResult,
  ScramClient,
} from "../supabase/functions/_shared/pg.ts";
import { startDatabaseProxy, type TcpProxy } from "./_support/tcp_proxy.ts";

const DATABASE_URL = Deno.env.get("DATABASE_URL") || undefined;
const ON_SERVER = DATABASE_URL !== undefined;
/** The server of the password tests: they change roles, so never through DATABASE_URL. */
const SERVER_URL = "postgres://postgres@127.0.0.1:5432/postgres";
const AUTH_TESTS = Deno.env.get("DATABASE_AUTH_TESTS") === "1";
const TLS_FIXTURES = new URL("./fixtures/tls/", import.meta.url);

const encoder = new TextEncoder();
const decoder = new TextDecoder();

// ---- helpers ------------------------------------------------------------------------------------

/** `promise`, or a failure when it does not settle within `ms` (a hang fails, not hangs). */
async function within<T>(promise: Promise<T>, ms = 5_000): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`Still pending after ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** What `promise` rejects with; fails when it resolves or does not settle within `ms`. */
async function rejection(promise: Promise<unknown>, ms = 5_000): Promise<unknown> {
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

function assertConnectionError(
  error: unknown,
  code: PgConnectionErrorCode,
): asserts error is PgConnectionError {
  assert.ok(error instanceof PgConnectionError, `Not a PgConnectionError: ${Deno.inspect(error)}`);
  assert.equal(error.code, code, Deno.inspect(error));
}

function assertPgError(error: unknown, code: string): asserts error is PgError {
  assert.ok(error instanceof PgError, `Not a PgError: ${Deno.inspect(error)}`);
  assert.equal(error.code, code, Deno.inspect(error));
}

/** Asserts that neither the error, nor its cause, nor anything printed of it holds `secret`. */
function assertNoSecret(error: unknown, secret: string) {
  assert.ok(!Deno.inspect(error, { depth: 10 }).includes(secret), "The error shows the password");
  assert.ok(!String(error).includes(secret), "The error's message holds the password");
}

/** The rows of the result at `index`. */
function rowsOf(results: QueryResult[], index = 0): Record<string, unknown>[] {
  const result = results[index];
  assert.ok(result, `No result at ${index} among ${results.length}`);
  return result.rows;
}

/** The first row of the last statement of `text`. */
async function row(pool: Pool, text: string): Promise<Record<string, unknown>> {
  const results = await pool.query(text);
  const first = rowsOf(results, results.length - 1)[0];
  assert.ok(first, `No row from ${text}`);
  return first;
}

function uniqueName(prefix: string): string {
  return `${prefix}_${crypto.randomUUID().replaceAll("-", "").slice(0, 12)}`;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Runs `fn` with a pool that is ended afterwards, whatever happens. */
async function withPool<T>(
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
async function withProxiedPool(
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

function withParams(url: string, params: Record<string, string>): string {
  const out = new URL(url);
  for (const [key, value] of Object.entries(params)) out.searchParams.set(key, value);
  return out.href;
}

function contains(haystack: Uint8Array, needle: Uint8Array): boolean {
  outer: for (let i = 0; i + needle.length <= haystack.length; i++) {
    for (let j = 0; j < needle.length; j++) {
      if (haystack[i + j] !== needle[j]) continue outer;
    }
    return true;
  }
  return false;
}

function concat(chunks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((sum, chunk) => sum + chunk.length, 0));
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.length;
  }
  return out;
}

function portOf(listener: Deno.Listener): number {
  return (listener.addr as Deno.NetAddr).port;
}

function closeQuietly(closable: { close(): void }) {
  try {
    closable.close();
  } catch {
    // Already closed.
  }
}

/** Copies `from` to `to` until either ends, then closes both; `seen` gets every chunk. */
async function pipe(from: Deno.Conn, to: Deno.Conn, seen?: (chunk: Uint8Array) => void) {
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
async function readExactly(conn: Deno.Conn, size: number): Promise<Uint8Array | null> {
  const out = new Uint8Array(size);
  for (let at = 0; at < size;) {
    const count = await conn.read(out.subarray(at));
    if (count === null) return null;
    at += count;
  }
  return out;
}

// ---- the shared database ------------------------------------------------------------------------

/** The database of this file, and postgres.js on it to set up and read back. */
interface TestDatabase {
  url: string;
  sql: Sql;
}

let shared: Promise<{ started: StartedDatabase; sql: Sql }> | undefined;

function sharedDatabase(): Promise<{ started: StartedDatabase; sql: Sql }> {
  shared ??= startDatabase({ serverUrl: DATABASE_URL }).then((started) => ({
    started,
    sql: connect(started.url, { max: 2 }),
  }));
  return shared;
}

/**
 * A test on the shared database. It outlives each test, so Deno's sanitizers are off; every test
 * makes its own tables and pools.
 */
function dbTest(
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
async function newTable(db: TestDatabase, columns = "n int primary key"): Promise<string> {
  const name = uniqueName("t");
  await db.sql.unsafe(`create table ${name} (${columns})`);
  return name;
}

/** The `n` column of a table, read through postgres.js. */
async function numbersIn(db: TestDatabase, table: string): Promise<number[]> {
  const rows = await db.sql.unsafe<{ n: number }[]>(`select n from ${table} order by n`);
  return rows.map((r) => r.n);
}

// ---- parseDatabaseUrl ---------------------------------------------------------------------------

Deno.test("parseDatabaseUrl reads every part of a full URL and percent-decodes them", () => {
  const settings = parseDatabaseUrl(
    "postgresql://app%20user:p%40ss%3Aw%2Frd%25@db.example.com:6543/my%20db" +
      "?sslmode=verify-full&sslrootcert=%2Fetc%2Fca.pem&application_name=billing" +
      "&options=-c%20search_path%3Dbilling",
  );
  assert.deepEqual(settings, {
    hostname: "db.example.com",
    port: 6543,
    user: "app user",
    password: "p@ss:w/rd%",
    database: "my db",
    sslmode: "verify-full",
    sslrootcert: "/etc/ca.pem",
    parameters: { application_name: "billing", options: "-c search_path=billing" },
  });
});

Deno.test("parseDatabaseUrl defaults the port to 5432, the database to the user and sslmode to prefer", () => {
  for (const url of ["postgres://alice@localhost", "postgres://alice@localhost/"]) {
    assert.deepEqual(parseDatabaseUrl(url), {
      hostname: "localhost",
      port: 5432,
      user: "alice",
      password: undefined,
      database: "alice",
      sslmode: "prefer",
      sslrootcert: undefined,
      parameters: {},
    });
  }
});

Deno.test("parseDatabaseUrl takes an IPv6 host without its brackets", () => {
  const settings = parseDatabaseUrl("postgres://u@[::1]:5433/d");
  assert.equal(settings.hostname, "::1");
  assert.equal(settings.port, 5433);
  assert.equal(parseDatabaseUrl("postgres://u@[2001:db8::7]/d").hostname, "2001:db8::7");
});

Deno.test("parseDatabaseUrl accepts libpq's sslmodes and rejects any other with a TypeError", () => {
  for (const mode of ["disable", "allow", "prefer", "require", "verify-ca", "verify-full"]) {
    assert.equal(parseDatabaseUrl(`postgres://u@h/d?sslmode=${mode}`).sslmode, mode);
  }
  for (const mode of ["required", "REQUIRE", "", "on"]) {
    assert.throws(
      () => parseDatabaseUrl(`postgres://u@h/d?sslmode=${mode}`),
      (error) => error instanceof TypeError && error.message === `Invalid sslmode "${mode}"`,
    );
  }
});

Deno.test("parseDatabaseUrl passes unknown query parameters to the startup message, not sslmode or sslrootcert", () => {
  const settings = parseDatabaseUrl(
    "postgres://u@h/d?application_name=a%26b&statement_timeout=5s&sslmode=disable&sslrootcert=x",
  );
  assert.deepEqual(settings.parameters, { application_name: "a&b", statement_timeout: "5s" });
});

Deno.test("parseDatabaseUrl rejects other schemes, a missing host and a missing user with a TypeError", () => {
  const cases: [string, RegExp][] = [
    ["mysql://u:pw@h/d", /^Invalid database URL scheme "mysql:"$/],
    ["http://u:pw@h/d", /^Invalid database URL scheme "http:"$/],
    ["postgres://h/d", /no user/],
    ["postgres:///d", /no host/],
    ["postgres://u@/d", /^Invalid database URL/],
    ["not a url", /^Invalid database URL$/],
  ];
  for (const [url, message] of cases) {
    assert.throws(
      () => parseDatabaseUrl(url),
      (error) => error instanceof TypeError && message.test(error.message),
      url,
    );
  }
});

Deno.test("parseDatabaseUrl's errors never show the password", () => {
  const secret = "Sup3rS3cretPw";
  const urls = [
    `mysql://u:${secret}@h/d`,
    `postgres://u:${secret}@h/d?sslmode=nope`,
    `postgres://:${secret}@h/d`,
    `postgres://u:${secret}@h:99999/d`,
    `postgres://u:${secret}@h:port/d`,
    `postgres://u:${secret}%zz@h/d`,
    `postgres://u:${secret}@/d`,
    `postgres://u:${secret}@[::1/d`,
  ];
  for (const url of urls) {
    let thrown: unknown;
    assert.throws(() => {
      try {
        parseDatabaseUrl(url);
      } catch (error) {
        thrown = error;
        throw error;
      }
    }, url);
    assertNoSecret(thrown, secret);
  }
});

// ---- SCRAM-SHA-256 ------------------------------------------------------------------------------

/** RFC 7677's example exchange (section 3). */
const RFC7677 = {
  password: "pencil",
  clientNonce: "rOprNGfwEbeRWgbNEkqO",
  serverFirst:
    "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
  clientFinal:
    "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
  serverFinal: "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=",
};

/**
 * SCRAM-SHA-256 computed independently of pg.ts (RFC 5802 section 3, on node:crypto): the client
 * final message and the server final message for a client-first-bare and server-first message.
 */
function scramReference(password: string, clientFirstBare: string, serverFirst: string) {
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

/** Asserts that `fn` fails the login: a PgConnectionError with code AUTH_FAILED. */
async function assertAuthFails(fn: () => unknown | Promise<unknown>, what: string) {
  await assert.rejects(
    async () => await fn(),
    (error) => error instanceof PgConnectionError && error.code === "AUTH_FAILED",
    what,
  );
}

Deno.test("the SCRAM reference computation reproduces RFC 7677's example", () => {
  const reference = scramReference(
    RFC7677.password,
    `n=user,r=${RFC7677.clientNonce}`,
    RFC7677.serverFirst,
  );
  assert.equal(reference.clientFinal, RFC7677.clientFinal);
  assert.equal(reference.serverFinal, RFC7677.serverFinal);
});

Deno.test("ScramClient's first message has no channel binding, an empty user and its nonce", () => {
  const client = new ScramClient(RFC7677.password, RFC7677.clientNonce);
  assert.equal(client.clientFirstBare, `n=,r=${RFC7677.clientNonce}`);
  assert.equal(client.first(), `n,,n=,r=${RFC7677.clientNonce}`);
});

Deno.test("ScramClient answers RFC 7677's server-first message with the proof for its own first message", async () => {
  const client = new ScramClient(RFC7677.password, RFC7677.clientNonce);
  const expected = scramReference(RFC7677.password, client.clientFirstBare, RFC7677.serverFirst);
  const final = await client.final(RFC7677.serverFirst);
  assert.equal(final, expected.clientFinal);
  // The proof signs the first message as sent (n=), so it cannot be the RFC's (n=user).
  assert.notEqual(final, RFC7677.clientFinal);
  client.verify(expected.serverFinal);
});

Deno.test("ScramClient rejects a server signature that is not the one it expects", async () => {
  const client = new ScramClient(RFC7677.password, RFC7677.clientNonce);
  const expected = scramReference(RFC7677.password, client.clientFirstBare, RFC7677.serverFirst);
  await client.final(RFC7677.serverFirst);
  const signature = Buffer.from(expected.serverFinal.slice(2), "base64");
  signature[0] = (signature[0] ?? 0) ^ 1;
  const tampered = [
    `v=${signature.toString("base64")}`,
    RFC7677.serverFinal, // the RFC's signature covers "n=user", not what this client sent
    "e=invalid-proof",
    expected.serverFinal.slice(2),
    "",
  ];
  for (const serverFinal of tampered) {
    await assertAuthFails(() => client.verify(serverFinal), serverFinal);
  }
});

Deno.test("ScramClient rejects a server nonce that does not extend its own", async () => {
  const rest = ",s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";
  const nonces = [
    "r=someoneElsesNonce%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0",
    `r=${RFC7677.clientNonce}`,
    `r=XrOprNGfwEbeRWgbNEkqO%hvYD`,
    "r=",
  ];
  for (const nonce of nonces) {
    const client = new ScramClient(RFC7677.password, RFC7677.clientNonce);
    await assertAuthFails(() => client.final(`${nonce}${rest}`), nonce);
  }
  const client = new ScramClient(RFC7677.password, RFC7677.clientNonce);
  await assertAuthFails(() => client.final("s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"), "no nonce");
});

Deno.test("ScramClient rejects a missing salt and an invalid iteration count", async () => {
  const nonce = "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0";
  const salt = "s=W22ZaJ0SNY7soEsUEjb6gQ==";
  const messages = [
    `${nonce},${salt},i=0`,
    `${nonce},${salt},i=-4096`,
    `${nonce},${salt},i=1.5`,
    `${nonce},${salt},i=many`,
    `${nonce},${salt},i=`,
    `${nonce},${salt}`,
    `${nonce},i=4096`,
  ];
  for (const message of messages) {
    const client = new ScramClient(RFC7677.password, RFC7677.clientNonce);
    await assertAuthFails(() => client.final(message), message);
  }
});

Deno.test("ScramClient rejects a server-final message before it has sent its proof", async () => {
  const client = new ScramClient(RFC7677.password, RFC7677.clientNonce);
  await assertAuthFails(() => client.verify(RFC7677.serverFinal), "verify before final");
});

Deno.test("ScramClient picks a fresh random nonce for each login", () => {
  const nonces = new Set(
    Array.from({ length: 20 }, () => new ScramClient("pw").clientFirstBare.slice("n=,r=".length)),
  );
  assert.equal(nonces.size, 20);
  for (const nonce of nonces) assert.match(nonce, /^[A-Za-z0-9+/]{24}$/);
});

// ---- a scripted server --------------------------------------------------------------------------

/** A message from the client: its type letter and body. */
interface ClientMessage {
  type: string;
  body: Uint8Array;
}

/** A backend message: a type letter and its parts (strings NUL-terminated, numbers int32). */
function backend(type: string, ...parts: (string | number | Uint8Array)[]): Uint8Array {
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

const AUTH_OK = backend("R", 0);
const READY = backend("Z", encoder.encode("I"));

/** An ErrorResponse (or a FATAL one) with a SQLSTATE and message. */
function errorMessage(code: string, message: string, severity = "ERROR"): Uint8Array {
  return backend("E", `S${severity}`, `V${severity}`, `C${code}`, `M${message}`, new Uint8Array(1));
}

/** One client connection, as the server sees it. */
class Peer {
  readonly conn: Deno.Conn;

  constructor(conn: Deno.Conn) {
    this.conn = conn;
  }

  /** The startup message's parameters. */
  async startup(): Promise<Map<string, string>> {
    const header = await readExactly(this.conn, 8);
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
interface ScriptedServer {
  port: number;
  /** A URL for this server with the given user and password. */
  url(user?: string, password?: string): string;
  readonly accepted: number;
  close(): Promise<void>;
}

function scriptedServer(session: (peer: Peer, index: number) => Promise<void>): ScriptedServer {
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
async function scramLogin(peer: Peer, password: string, tamper: boolean) {
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

Deno.test("the client sends the user, the database, ISO dates, UTF-8 and the URL's parameters at startup", async () => {
  let startup: Map<string, string> | undefined;
  const server = scriptedServer(async (peer) => {
    startup = await peer.startup();
    await peer.send(AUTH_OK, READY);
    await peer.serveQueries();
  });
  try {
    const url = withParams(server.url("app user"), { application_name: "billing", x_custom: "1" });
    await withPool(url, {}, (pool) => within(pool.query("select 1")));
    assert.deepEqual(Object.fromEntries(startup ?? []), {
      user: "app user",
      database: "appdb",
      client_encoding: "UTF8",
      application_name: "billing",
      x_custom: "1",
    });
  } finally {
    await server.close();
  }
});

Deno.test("SCRAM over the wire: the client logs in when the server proves it knows the password", async () => {
  const password = "correct horse";
  const server = scriptedServer((peer) => scramLogin(peer, password, false));
  try {
    await withPool(server.url("app", encodeURIComponent(password)), {}, async (pool) => {
      assert.deepEqual(await within(pool.query("select 1")), [{ command: "SELECT 0", rows: [] }]);
    });
  } finally {
    await server.close();
  }
});

Deno.test("SCRAM over the wire: a server that cannot prove it knows the password fails the login", async () => {
  const password = "correct horse";
  const server = scriptedServer((peer) => scramLogin(peer, password, true));
  try {
    await withPool(server.url("app", encodeURIComponent(password)), {}, async (pool) => {
      const error = await rejection(pool.query("select 1"));
      assertConnectionError(error, "AUTH_FAILED");
      assert.match(error.message, /signature/);
      assertNoSecret(error, password);
    });
  } finally {
    await server.close();
  }
});

Deno.test("md5 authentication hashes the server's salt as bytes", async () => {
  const user = "app";
  const password = "md5 secret";
  // Salt bytes above 0x7f are where hashing them as UTF-8 text would go wrong.
  const salt = new Uint8Array([0xde, 0xad, 0xbe, 0xef]);
  const inner = createHash("md5").update(password + user).digest("hex");
  const expected = `md5${createHash("md5").update(inner).update(salt).digest("hex")}\0`;
  let received: string | undefined;
  const server = scriptedServer(async (peer) => {
    await peer.startup();
    await peer.send(backend("R", 5, salt));
    const answer = await peer.next();
    received = answer ? decoder.decode(answer.body) : undefined;
    if (received !== expected) {
      await peer.send(errorMessage("28P01", "password authentication failed", "FATAL"));
      return;
    }
    await peer.send(AUTH_OK, READY);
    await peer.serveQueries();
  });
  try {
    await withPool(server.url(user, encodeURIComponent(password)), {}, async (pool) => {
      const query = within(pool.query("select 1"));
      // A wrong hash fails the query; compare the hash first, for the clearer message.
      await query.catch(() => {});
      assert.equal(received, expected);
      assert.deepEqual(await query, [{ command: "SELECT 0", rows: [] }]);
    });
  } finally {
    await server.close();
  }
});

Deno.test("a server that asks for a password the URL does not have fails the login with AUTH_FAILED", async () => {
  const server = scriptedServer(async (peer) => {
    await peer.startup();
    await peer.send(backend("R", 3));
    await peer.next();
  });
  try {
    await withPool(server.url("app"), {}, async (pool) => {
      const error = await rejection(pool.query("select 1"));
      assertConnectionError(error, "AUTH_FAILED");
      assert.match(error.message, /password/);
    });
  } finally {
    await server.close();
  }
});

Deno.test("an authentication method the client does not support fails the login with AUTH_FAILED", async () => {
  const requests = [
    backend("R", 7), // GSSAPI
    backend("R", 10, "SCRAM-SHA-256-PLUS", new Uint8Array(1)),
  ];
  for (const request of requests) {
    const server = scriptedServer(async (peer) => {
      await peer.startup();
      await peer.send(request);
      await peer.next();
    });
    try {
      await withPool(server.url("app", "pw"), {}, async (pool) => {
        assertConnectionError(await rejection(pool.query("select 1")), "AUTH_FAILED");
      });
    } finally {
      await server.close();
    }
  }
});

Deno.test("an unexpected message fails its query with PROTOCOL_VIOLATION and the pool opens a new connection", async () => {
  const server = scriptedServer(async (peer, index) => {
    await peer.startup();
    await peer.send(AUTH_OK, READY);
    if (index === 0) {
      await peer.next();
      await peer.send(backend("W", new Uint8Array(3))); // CopyBothResponse: never asked for
      await peer.next();
      return;
    }
    await peer.serveQueries();
  });
  try {
    await withPool(server.url(), { max: 1 }, async (pool) => {
      assertConnectionError(await rejection(pool.query("select 1")), "PROTOCOL_VIOLATION");
      assert.deepEqual(await within(pool.query("select 1")), [{ command: "SELECT 0", rows: [] }]);
      assert.equal(server.accepted, 2);
    });
  } finally {
    await server.close();
  }
});

Deno.test("a FATAL error sent mid-query becomes the cause of the query's CONNECTION_LOST", async () => {
  const server = scriptedServer(async (peer) => {
    await peer.startup();
    await peer.send(AUTH_OK, READY);
    await peer.next();
    await peer.send(
      errorMessage("57P01", "terminating connection due to administrator command", "FATAL"),
    );
  });
  try {
    await withPool(server.url(), {}, async (pool) => {
      const error = await rejection(pool.query("select 1"));
      assertConnectionError(error, "CONNECTION_LOST");
      assertPgError(error.cause, "57P01");
    });
  } finally {
    await server.close();
  }
});

// ---- values -------------------------------------------------------------------------------------

dbTest("booleans and small numbers read back as JavaScript booleans and numbers", async (db) => {
  await withPool(db.url, {}, async (pool) => {
    const values = await row(
      pool,
      `select true as yes, false as no, 32767::int2 as small, (-2147483648)::int4 as int,
        1.5::float8 as double, 0.25::float4 as single, 'NaN'::float8 as nan,
        '-Infinity'::float8 as minus_infinity, 26::oid as oid`,
    );
    assert.deepEqual(values, {
      yes: true,
      no: false,
      small: 32767,
      int: -2147483648,
      double: 1.5,
      single: 0.25,
      nan: NaN,
      minus_infinity: -Infinity,
      oid: 26,
    });
  });
});

dbTest("int8 and numeric read back as exact strings", async (db) => {
  await withPool(db.url, {}, async (pool) => {
    const values = await row(
      pool,
      `select 9007199254740993::int8 as big, (-9223372036854775808)::int8 as min,
        12345678901234567890.000000000123::numeric as num, 'NaN'::numeric as num_nan`,
    );
    assert.deepEqual(values, {
      big: "9007199254740993",
      min: "-9223372036854775808",
      num: "12345678901234567890.000000000123",
      num_nan: "NaN",
    });
  });
});

dbTest("json and jsonb read back parsed", async (db) => {
  await withPool(db.url, {}, async (pool) => {
    const values = await row(
      pool,
      `select '{"a": [1, 2.5, {"b": null}], "s": "é \\"q\\" 😀"}'::jsonb as object,
        '[1, "two", true]'::json as list, '"text"'::json as string, 'null'::jsonb as json_null,
        null::jsonb as sql_null`,
    );
    assert.deepEqual(values, {
      object: { a: [1, 2.5, { b: null }], s: 'é "q" 😀' },
      list: [1, "two", true],
      string: "text",
      json_null: null,
      sql_null: null,
    });
  });
});

dbTest("timestamptz and timestamp read back as Dates to the millisecond", async (db) => {
  await withPool(db.url, {}, async (pool) => {
    const values = await row(
      pool,
      `select '2026-11-24 21:42:50.123+00'::timestamptz as tz,
        '2026-11-24 21:42:50.123456+00'::timestamptz as micro,
        '2026-11-24 21:42:50'::timestamp as plain, '1969-07-20 20:17:40.5'::timestamp as before,
        '0099-01-01 00:00:00+00'::timestamptz as ancient`,
    );
    assert.deepEqual(values, {
      tz: new Date(Date.UTC(2026, 10, 24, 21, 42, 50, 123)),
      micro: new Date(Date.UTC(2026, 10, 24, 21, 42, 50, 123)),
      plain: new Date(Date.UTC(2026, 10, 24, 21, 42, 50)),
      before: new Date(Date.UTC(1969, 6, 20, 20, 17, 40, 500)),
      ancient: new Date("0099-01-01T00:00:00Z"),
    });
  });
});

dbTest("a timestamptz reads back the same instant whatever the session's time zone", async (db) => {
  const instant = new Date(Date.UTC(2024, 2, 1, 12, 34, 56, 789));
  await withPool(db.url, { max: 1 }, async (pool) => {
    for (const zone of ["Asia/Kolkata", "America/St_Johns", "Pacific/Chatham", "UTC"]) {
      const value = await pool.transaction(async (tx) => {
        await tx.query(`set local timezone = '${zone}'`);
        const results = await tx.commit(
          `select '2024-03-01 12:34:56.789+00'::timestamptz as at`,
        );
        return rowsOf(results)[0]?.at;
      });
      assert.deepEqual(value, instant, zone);
    }
  });
});

// PGlite's time zone data has no local mean time, so only the server shows such an offset.
dbTest("a timestamptz whose zone offset has seconds reads back the exact instant", async (db) => {
  await withPool(db.url, { max: 1 }, async (pool) => {
    const values = await pool.transaction(async (tx) => {
      await tx.query(`set local timezone = 'Europe/Amsterdam'`);
      const results = await tx.commit(
        `select '1900-01-01 00:00:00+00'::timestamptz as at,
          '1900-01-01 00:00:00+00'::timestamptz::text as text`,
      );
      return rowsOf(results)[0];
    });
    assert.equal(values?.text, "1900-01-01 00:19:32+00:19:32");
    assert.deepEqual(values?.at, new Date(Date.UTC(1900, 0, 1)));
  });
}, { ignore: !ON_SERVER });

dbTest("infinite timestamps read back as the strings infinity and -infinity", async (db) => {
  await withPool(db.url, {}, async (pool) => {
    const values = await row(
      pool,
      `select 'infinity'::timestamptz as a, '-infinity'::timestamptz as b,
        'infinity'::timestamp as c, '-infinity'::timestamp as d`,
    );
    assert.deepEqual(values, { a: "infinity", b: "-infinity", c: "infinity", d: "-infinity" });
  });
});

dbTest(
  "text reads back unchanged: quotes, backslashes, unicode, emoji, empty strings and null",
  async (db) => {
    const text = `it's "quoted" \\ back\\slash \\x41 tab\tnew\nline ünïcødé 中文 😀👩‍👩‍👧 $1 %s`;
    const table = await newTable(db, "id int primary key, body text");
    await db.sql`insert into ${db.sql(table)} (id, body) values (1, ${text}), (2, ''), (3, null)`;
    await withPool(db.url, {}, async (pool) => {
      const results = await pool.query(
        `select body, body is null as missing from ${table} order by id;
      select $q$${text}$q$ as literal, '' as empty, null as nothing, null::int as no_int`,
      );
      assert.deepEqual(rowsOf(results, 0), [
        { body: text, missing: false },
        { body: "", missing: false },
        { body: null, missing: true },
      ]);
      assert.deepEqual(rowsOf(results, 1), [
        { literal: text, empty: "", nothing: null, no_int: null },
      ]);
    });
  },
);

dbTest("other types read back as their text form, under their column names", async (db) => {
  await withPool(db.url, {}, async (pool) => {
    const values = await row(
      pool,
      `select '2026-01-02'::date as "day ü", '{a,"b c"}'::text[] as list,
        '\\x0a0b'::bytea as bytes, '00000000-0000-0000-0000-000000000001'::uuid as id`,
    );
    assert.deepEqual(values, {
      "day ü": "2026-01-02",
      list: '{a,"b c"}',
      bytes: "\\x0a0b",
      id: "00000000-0000-0000-0000-000000000001",
    });
  });
});

dbTest("a value of a megabyte and twenty thousand rows read back whole", async (db) => {
  await withPool(db.url, {}, async (pool) => {
    const big = await row(pool, `select repeat('x', 1000000) || 'end' as big`);
    assert.equal(big.big, `${"x".repeat(1_000_000)}end`);
    const many = rowsOf(
      await pool.query(`select g as n, repeat('y', 50) as pad from generate_series(1, 20000) g`),
    );
    assert.equal(many.length, 20_000);
    assert.deepEqual(many[19_999], { n: 20_000, pad: "y".repeat(50) });
    assert.equal(many.reduce((sum, r) => sum + Number(r.n), 0), (20_000 * 20_001) / 2);
  });
});

dbTest(
  "timestamps in a DateStyle other than ISO stay text rather than become a wrong date",
  async (db) => {
    await withPool(db.url, { max: 1 }, async (pool) => {
      for (const style of ["SQL, DMY", "Postgres, MDY", "German"]) {
        const [, result] = await pool.query(
          `set datestyle = '${style}'; select '2026-11-24 21:42:50.123+00'::timestamptz as at, ` +
            `'2026-11-24 21:42:50'::timestamp as local`,
        );
        const row = result?.rows[0];
        assert.equal(typeof row?.at, "string", `${style}: ${Deno.inspect(row)}`);
        assert.equal(typeof row?.local, "string", `${style}: ${Deno.inspect(row)}`);
      }
      await pool.query("reset datestyle");
    });
  },
);

// ---- statements and results ---------------------------------------------------------------------

dbTest(
  "several statements in one text give one result each, with their command tags",
  async (db) => {
    const table = uniqueName("t");
    await withPool(db.url, {}, async (pool) => {
      const results = await pool.query(
        `create table ${table} (n int);
      insert into ${table} values (1), (2);
      update ${table} set n = n + 10 where n = 1;
      select n from ${table} order by n;
      delete from ${table};
      drop table ${table}`,
      );
      assert.deepEqual(results, [
        { command: "CREATE TABLE", rows: [] },
        { command: "INSERT 0 2", rows: [] },
        { command: "UPDATE 1", rows: [] },
        { command: "SELECT 2", rows: [{ n: 2 }, { n: 11 }] },
        { command: "DELETE 2", rows: [] },
        { command: "DROP TABLE", rows: [] },
      ]);
    });
  },
);

dbTest("an empty query gives one empty result", async (db) => {
  await withPool(db.url, {}, async (pool) => {
    for (const text of ["", "   ", "-- only a comment", ";"]) {
      assert.deepEqual(await pool.query(text), [{ command: "", rows: [] }], JSON.stringify(text));
    }
  });
});

dbTest("a notice from the server does not disturb the results", async (db) => {
  await withPool(db.url, {}, async (pool) => {
    const results = await pool.query(
      `do $$ begin raise notice 'just so you know'; end $$; select 1 as one`,
    );
    assert.deepEqual(results, [
      { command: "DO", rows: [] },
      { command: "SELECT 1", rows: [{ one: 1 }] },
    ]);
  });
});

dbTest("SQL text with a NUL byte is refused whole, not cut short at the NUL", async (db) => {
  const table = await newTable(db);
  await withPool(db.url, {}, async (pool) => {
    const error = await rejection(
      pool.query(`insert into ${table} values (1)\0; insert into ${table} values (2)`),
    );
    assertPgError(error, "08P01");
    assert.deepEqual(await numbersIn(db, table), []);
  });
});

// ---- errors -------------------------------------------------------------------------------------

dbTest(
  "a statement error rejects with its SQLSTATE and the connection stays in use",
  async (db) => {
    const table = await newTable(db);
    await db.sql.unsafe(`insert into ${table} values (1)`);
    await withProxiedPool(db.url, { max: 1 }, async (pool, proxy) => {
      const division = await rejection(pool.query("select 1/0"));
      assertPgError(division, "22012");
      assert.equal(division.severity, "ERROR");
      assert.equal(division.message, "division by zero");

      assertPgError(await rejection(pool.query(`select * from ${uniqueName("missing")}`)), "42P01");

      const duplicate = await rejection(pool.query(`insert into ${table} values (1)`));
      assertPgError(duplicate, "23505");
      assert.match(duplicate.detail ?? "", /\(n\)=\(1\) already exists/);

      assert.deepEqual(await row(pool, "select 2 as two"), { two: 2 });
      assert.equal(proxy.accepted, 1);
    });
  },
);

dbTest(
  "an error stops the rest of a multi-statement text, which then rolls back whole",
  async (db) => {
    const table = await newTable(db);
    // A sequence is not transactional: nextval after the error would leave a trace.
    const sequence = uniqueName("s");
    await db.sql.unsafe(`create sequence ${sequence}`);
    await withPool(db.url, {}, async (pool) => {
      const error = await rejection(
        pool.query(
          `insert into ${table} values (1); select 1/0; select nextval('${sequence}');
        insert into ${table} values (2)`,
        ),
      );
      assertPgError(error, "22012");
    });
    assert.deepEqual(await numbersIn(db, table), []);
    const [state] = await db.sql.unsafe(`select is_called from ${sequence}`);
    assert.equal(state?.is_called, false);
  },
);

// ---- transactions -------------------------------------------------------------------------------

dbTest(
  "a transaction whose work throws rolls back what it wrote and rejects with that error",
  async (db) => {
    const table = await newTable(db);
    const thrown = new Error("Stripe is down");
    await withProxiedPool(db.url, { max: 1 }, async (pool, proxy) => {
      const error = await rejection(pool.transaction(async (tx) => {
        await tx.query(`insert into ${table} values (1)`);
        throw thrown;
      }));
      assert.equal(error, thrown);
      assert.deepEqual(await numbersIn(db, table), []);
      // Rolled back, the connection is clean and reused.
      assert.deepEqual(await row(pool, "select 1 as one"), { one: 1 });
      assert.equal(proxy.accepted, 1);
    });
  },
);

dbTest("a transaction whose commit text fails rolls back the work before it", async (db) => {
  const table = await newTable(db);
  await withPool(db.url, { max: 1 }, async (pool) => {
    const error = await rejection(pool.transaction(async (tx) => {
      await tx.query(`insert into ${table} values (1)`);
      await tx.commit(`insert into ${table} values (2); insert into ${table} values (1)`);
    }));
    assertPgError(error, "23505");
    assert.deepEqual(await numbersIn(db, table), []);
    assert.deepEqual(await row(pool, "select 1 as one"), { one: 1 });
  });
});

dbTest("a transaction commits when its work returns without calling commit", async (db) => {
  const table = await newTable(db);
  await withPool(db.url, {}, async (pool) => {
    const result = await pool.transaction(async (tx) => {
      await tx.query(`insert into ${table} values (1)`);
      await tx.query(`insert into ${table} values (2)`);
      return "done";
    });
    assert.equal(result, "done");
  });
  assert.deepEqual(await numbersIn(db, table), [1, 2]);
});

dbTest("tx.query and tx.commit return only their own statements' results", async (db) => {
  const table = await newTable(db);
  await withPool(db.url, {}, async (pool) => {
    await pool.transaction(async (tx) => {
      assert.deepEqual(await tx.query(`insert into ${table} values (1); select 1 as a`), [
        { command: "INSERT 0 1", rows: [] },
        { command: "SELECT 1", rows: [{ a: 1 }] },
      ]);
      assert.deepEqual(await tx.query("select 2 as b"), [
        { command: "SELECT 1", rows: [{ b: 2 }] },
      ]);
      assert.deepEqual(await tx.commit(`insert into ${table} values (2);`), [
        { command: "INSERT 0 1", rows: [] },
      ]);
    });
  });
  assert.deepEqual(await numbersIn(db, table), [1, 2]);
});

dbTest("a transaction that only calls commit(text) runs that text all or nothing", async (db) => {
  const table = await newTable(db);
  await withPool(db.url, {}, async (pool) => {
    const error = await rejection(
      pool.transaction((tx) =>
        tx.commit(`insert into ${table} values (1); insert into ${table} values (1)`)
      ),
    );
    assertPgError(error, "23505");
    assert.deepEqual(await numbersIn(db, table), []);
    const results = await pool.transaction((tx) =>
      tx.commit(`insert into ${table} values (1); insert into ${table} values (2)`)
    );
    assert.deepEqual(results.map((r) => r.command), ["INSERT 0 1", "INSERT 0 1"]);
  });
  assert.deepEqual(await numbersIn(db, table), [1, 2]);
});

dbTest("tx.query and tx.commit throw once the transaction is committed or over", async (db) => {
  await withPool(db.url, {}, async (pool) => {
    let kept: Parameters<Parameters<Pool["transaction"]>[0]>[0] | undefined;
    await pool.transaction(async (tx) => {
      kept = tx;
      await tx.query("select 1");
      await tx.commit();
      await assert.rejects(tx.query("select 2"), /already over/);
      await assert.rejects(tx.commit("select 3"), /already over/);
    });
    assert.ok(kept);
    await assert.rejects(kept.query("select 4"), /already over/);
  });
});

dbTest(
  "a deferred constraint that fails at the implicit commit rejects the transaction",
  async (db) => {
    const table = await newTable(db, "n int, unique (n) deferrable initially deferred");
    await withPool(db.url, { max: 1 }, async (pool) => {
      const error = await rejection(pool.transaction(async (tx) => {
        await tx.query(`insert into ${table} values (1), (1)`);
      }));
      assertPgError(error, "23505");
      assert.deepEqual(await row(pool, "select 1 as one"), { one: 1 });
    });
    assert.deepEqual(await numbersIn(db, table), []);
  },
);

dbTest(
  "a transaction that fails while its statement is still in flight leaves nothing behind for the next query",
  async (db) => {
    const table = await newTable(db);
    await withPool(db.url, { max: 1 }, async (pool) => {
      const stripeDown = new Error("Stripe is down");
      const error = await rejection(pool.transaction(async (tx) => {
        // The insert is sent; the other half of the work fails before its answer comes.
        await Promise.all([
          tx.query(`insert into ${table} values (1)`),
          Promise.reject(stripeDown),
        ]);
      }));
      assert.equal(error, stripeDown);
      assert.deepEqual(await pool.query(`insert into ${table} values (2)`), [
        { command: "INSERT 0 1", rows: [] },
      ]);
    });
    assert.deepEqual(await numbersIn(db, table), [2]);
  },
);

dbTest(
  "a transaction whose work swallowed a statement error does not resolve as if committed",
  async (db) => {
    const table = await newTable(db);
    await withPool(db.url, { max: 1 }, async (pool) => {
      const outcome = await pool.transaction(async (tx) => {
        await tx.query(`insert into ${table} values (1)`);
        await tx.query("select 1/0").catch(() => {});
        return "resolved";
      }).catch(() => "rejected");
      // The failed statement aborted the transaction, so it cannot have committed the insert.
      assert.equal(outcome, "rejected");
      assert.deepEqual(await numbersIn(db, table), []);
    });
  },
);

// ---- round trips --------------------------------------------------------------------------------

dbTest("a transaction of tx.query then tx.commit(text) costs two round trips", async (db) => {
  const table = await newTable(db, "n int primary key, note text");
  const relay = countRoundTrips(db.url);
  try {
    await withPool(relay.url, { max: 1 }, async (pool) => {
      await pool.query("select 1"); // opens the connection
      relay.reset();
      const results = await pool.transaction(async (tx) => {
        const [read] = await tx.query(`insert into ${table} values (1) returning n`);
        return await tx.commit(
          `update ${table} set note = 'after ${read?.rows[0]?.n}' returning note`,
        );
      });
      assert.equal(relay.count(), 2);
      assert.deepEqual(rowsOf(results), [{ note: "after 1" }]);
    });
  } finally {
    await relay.close();
  }
  const [saved] = await db.sql.unsafe(`select note from ${table}`);
  assert.equal(saved?.note, "after 1");
});

dbTest(
  "a query, a returning transaction and a commit-only transaction cost one, two and one round trips",
  async (db) => {
    const table = await newTable(db);
    const relay = countRoundTrips(db.url);
    try {
      await withPool(relay.url, { max: 1 }, async (pool) => {
        await pool.query("select 1");
        relay.reset();
        await pool.query(`insert into ${table} values (1)`);
        assert.equal(relay.count(), 1);
        relay.reset();
        await pool.transaction(async (tx) => {
          await tx.query(`insert into ${table} values (2)`);
        });
        assert.equal(relay.count(), 2);
        relay.reset();
        await pool.transaction((tx) => tx.commit(`insert into ${table} values (3)`));
        assert.equal(relay.count(), 1);
      });
    } finally {
      await relay.close();
    }
    assert.deepEqual(await numbersIn(db, table), [1, 2, 3]);
  },
);

// ---- the pool -----------------------------------------------------------------------------------

dbTest("the pool opens at most max connections for 30 concurrent queries", async (db) => {
  await withProxiedPool(db.url, { max: 3 }, async (pool, proxy) => {
    const answers = await within(Promise.all(
      Array.from({ length: 30 }, (_, i) => row(pool, `select ${i} as i`)),
    ));
    assert.deepEqual(answers.map((a) => a.i), Array.from({ length: 30 }, (_, i) => i));
    assert.equal(proxy.accepted, 3);
  });
});

dbTest("the pool never has more than max sessions on the server", async (db) => {
  const app = uniqueName("pg_test_pool");
  const count = `select count(*)::int as n from pg_stat_activity where application_name = '${app}'`;
  await withPool(withParams(db.url, { application_name: app }), { max: 3 }, async (pool) => {
    const seen = await within(Promise.all(
      Array.from({ length: 30 }, () => row(pool, `select pg_sleep(0.02); ${count}`)),
    ));
    assert.equal(Math.max(...seen.map((s) => Number(s.n))), 3);
    const [idle] = await db.sql.unsafe(count);
    assert.equal(idle?.n, 3); // kept open for reuse
  });
  // After end(), the sessions go (their backends exit asynchronously).
  for (let i = 0; i < 50; i++) {
    const [left] = await db.sql.unsafe(count);
    if (left?.n === 0) return;
    await sleep(20);
  }
  assert.fail("The pool's sessions outlived end()");
}, { ignore: !ON_SERVER });

dbTest("the pool reuses an idle connection for the next query", async (db) => {
  await withProxiedPool(db.url, {}, async (pool, proxy) => {
    const first = await row(pool, "select pg_backend_pid() as pid");
    const second = await row(pool, "select pg_backend_pid() as pid");
    assert.equal(second.pid, first.pid);
    assert.equal(proxy.accepted, 1);
  });
});

dbTest("the pool closes a connection idle for longer than idleTimeoutMs", async (db) => {
  await withProxiedPool(db.url, { idleTimeoutMs: 30 }, async (pool, proxy) => {
    await pool.query("select 1");
    await sleep(120);
    await pool.query("select 1");
    assert.equal(proxy.accepted, 2);
  });
});

dbTest("a query that leaves a transaction open does not hand it to the next query", async (db) => {
  const table = await newTable(db);
  await withProxiedPool(db.url, { max: 1 }, async (pool, proxy) => {
    await pool.query(`begin; insert into ${table} values (1)`);
    assert.deepEqual(await row(pool, `select count(*)::int as n from ${table}`), { n: 0 });
    assert.equal(proxy.accepted, 2);
  });
  assert.deepEqual(await numbersIn(db, table), []);
});

dbTest("onQuery sees each text the pool sends, BEGIN and COMMIT included", async (db) => {
  const sent: string[] = [];
  await withPool(db.url, { onQuery: (text) => sent.push(text) }, async (pool) => {
    await pool.query("select 1");
    await pool.transaction(async (tx) => {
      await tx.query("select 2");
      await tx.commit("select 3");
    });
  });
  assert.equal(sent.length, 3);
  assert.equal(sent[0], "select 1");
  assert.match(sent[1] ?? "", /^begin;\s*select 2$/i);
  assert.match(sent[2] ?? "", /^select 3\s*;\s*commit$/i);
});

dbTest("the startup parameters of the URL apply to the server session", async (db) => {
  const app = uniqueName("pg_test_app");
  const url = withParams(db.url, {
    application_name: app,
    options: "-c statement_timeout=4321",
  });
  await withPool(url, {}, async (pool) => {
    assert.deepEqual(await row(pool, "select current_setting('application_name') as app"), {
      app,
    });
    assert.deepEqual(await row(pool, "show statement_timeout"), { statement_timeout: "4321ms" });
  });
}, { ignore: !ON_SERVER });

// ---- faults -------------------------------------------------------------------------------------

for (const mode of ["close", "reset"] as const) {
  dbTest(
    `a connection lost mid-query (${mode}) fails it with CONNECTION_LOST at once and the next query gets a fresh connection`,
    async (db) => {
      await withProxiedPool(db.url, { max: 1 }, async (pool, proxy) => {
        await pool.query("select 1");
        proxy.cutMode = mode;
        proxy.dropWhenClientSends("pg_test_lost_marker");
        const started = Date.now();
        const error = await rejection(pool.query("select 'pg_test_lost_marker'"), 2_000);
        assertConnectionError(error, "CONNECTION_LOST");
        assert.ok(Date.now() - started < 1_000, `Took ${Date.now() - started} ms`);
        proxy.dropWhenClientSends(null);
        assert.deepEqual(await within(row(pool, "select 2 as two")), { two: 2 });
        assert.equal(proxy.accepted, 2);
      });
    },
  );
}

dbTest("a connection lost while waiting for the answer fails the query at once", async (db) => {
  await withProxiedPool(db.url, { max: 1 }, async (pool, proxy) => {
    await pool.query("select 1");
    proxy.latencyMs = 1_000; // the answer cannot come before the cut
    const query = pool.query("select 1");
    await sleep(50);
    const started = Date.now();
    proxy.reset();
    assertConnectionError(await rejection(query, 2_000), "CONNECTION_LOST");
    assert.ok(Date.now() - started < 500, `Took ${Date.now() - started} ms`);
    proxy.latencyMs = 0;
    assert.deepEqual(await within(row(pool, "select 2 as two")), { two: 2 });
  });
});

dbTest(
  "a server that stops answering fails the query with QUERY_TIMEOUT and the next query gets a fresh connection",
  async (db) => {
    await withProxiedPool(db.url, { max: 1, queryTimeoutMs: 200 }, async (pool, proxy) => {
      await pool.query("select 1");
      proxy.latencyMs = 1_000; // nothing comes back within the timeout
      const started = Date.now();
      const error = await rejection(pool.query("select 1"), 2_000);
      assertConnectionError(error, "QUERY_TIMEOUT");
      const took = Date.now() - started;
      assert.ok(took >= 190 && took < 1_500, `Took ${took} ms`);
      proxy.latencyMs = 0;
      assert.deepEqual(await within(row(pool, "select 2 as two")), { two: 2 });
      assert.equal(proxy.accepted, 2, "the silent connection was closed, not reused");
    });
  },
);

dbTest("a slow answer within the query timeout is not cut", async (db) => {
  await withPool(db.url, { max: 1, queryTimeoutMs: 2_000 }, async (pool) => {
    assert.deepEqual(await within(row(pool, "select pg_sleep(0.3) is null as slept")), {
      slept: false,
    });
  });
});

dbTest(
  "a backend terminated mid-query fails the query at once with CONNECTION_LOST",
  async (db) => {
    const app = uniqueName("pg_test_kill");
    await withPool(withParams(db.url, { application_name: app }), { max: 1 }, async (pool) => {
      const query = pool.query("select pg_sleep(30)");
      query.catch(() => {});
      let killed = false;
      for (let i = 0; i < 100 && !killed; i++) {
        const [hit] = await db.sql.unsafe(
          `select pg_terminate_backend(pid) as killed from pg_stat_activity
        where application_name = '${app}' and query like '%pg_sleep(30)%'`,
        );
        killed = hit?.killed === true;
        if (!killed) await sleep(20);
      }
      assert.ok(killed, "The query never showed in pg_stat_activity");
      const error = await rejection(query, 2_000);
      assertConnectionError(error, "CONNECTION_LOST");
      assert.deepEqual(await within(row(pool, "select 2 as two")), { two: 2 });
    });
  },
  { ignore: !ON_SERVER },
);

dbTest("a COPY statement fails with PROTOCOL_VIOLATION and the pool carries on", async (db) => {
  await withPool(db.url, { max: 1 }, async (pool) => {
    assertConnectionError(
      await rejection(pool.query("copy (select 1) to stdout")),
      "PROTOCOL_VIOLATION",
    );
    assert.deepEqual(await within(row(pool, "select 2 as two")), { two: 2 });
  });
});

dbTest(
  "queries queued behind a pool whose connections cannot open all fail instead of hanging",
  async (db) => {
    await withProxiedPool(db.url, { max: 2 }, async (pool, proxy) => {
      await proxy.pause();
      const outcomes = await within(Promise.allSettled(
        Array.from({ length: 12 }, () => pool.query("select 1")),
      ));
      for (const outcome of outcomes) {
        assert.equal(outcome.status, "rejected");
        if (outcome.status === "rejected") assertConnectionError(outcome.reason, "CONNECT_FAILED");
      }
      proxy.resume();
      assert.deepEqual(await within(row(pool, "select 2 as two")), { two: 2 });
    });
  },
);

/** A server that accepts connections and never says a word. */
function startSilentServer(): { port: number; close(): Promise<void> } {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const held = new Set<Deno.Conn>();
  const accepting = (async () => {
    for await (const conn of listener) held.add(conn);
  })().catch(() => {});
  return {
    port: portOf(listener),
    async close() {
      listener.close();
      await accepting;
      for (const conn of held) closeQuietly(conn);
    },
  };
}

Deno.test("a server that accepts and never answers fails the connection with CONNECT_TIMEOUT", async () => {
  const server = startSilentServer();
  try {
    const url = `postgres://app:pw@127.0.0.1:${server.port}/appdb`;
    await withPool(url, { connectTimeoutMs: 200 }, async (pool) => {
      const started = Date.now();
      const error = await rejection(pool.query("select 1"), 3_000);
      assertConnectionError(error, "CONNECT_TIMEOUT");
      assert.match(error.message, new RegExp(`127\\.0\\.0\\.1:${server.port}`));
      const elapsed = Date.now() - started;
      assert.ok(elapsed >= 150 && elapsed < 1_500, `Took ${elapsed} ms`);
    });
  } finally {
    await server.close();
  }
});

Deno.test("queries queued behind connections that time out all fail with CONNECT_TIMEOUT", async () => {
  const server = startSilentServer();
  try {
    const url = `postgres://app:pw@127.0.0.1:${server.port}/appdb`;
    await withPool(url, { max: 2, connectTimeoutMs: 100 }, async (pool) => {
      const outcomes = await within(Promise.allSettled(
        Array.from({ length: 6 }, () => pool.query("select 1")),
      ));
      for (const outcome of outcomes) {
        assert.equal(outcome.status, "rejected");
        if (outcome.status === "rejected") assertConnectionError(outcome.reason, "CONNECT_TIMEOUT");
      }
    });
  } finally {
    await server.close();
  }
});

/**
 * A port where connecting never completes the TCP handshake, as for a host that drops packets: a
 * listener that never accepts, its backlog filled, so the kernel ignores further SYNs.
 */
async function startBlackHole(): Promise<{ port: number; close(): void }> {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = portOf(listener);
  const held: Deno.Conn[] = [];
  const close = () => {
    closeQuietly(listener);
    for (const conn of held) closeQuietly(conn);
  };
  // Full once two connects in a row hang (one could just be slow).
  for (let i = 0, hung = 0; i < 20_000 && hung < 2; i++) {
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), 100);
    try {
      held.push(await Deno.connect({ hostname: "127.0.0.1", port, signal: abort.signal }));
      hung = 0;
    } catch {
      hung += 1;
      if (hung === 2) return { port, close };
    } finally {
      clearTimeout(timer);
    }
  }
  close();
  throw new Error("Could not fill the listen backlog");
}

Deno.test("a host that never completes the TCP handshake fails with CONNECT_TIMEOUT after connectTimeoutMs", async () => {
  const hole = await startBlackHole();
  const pool = createPool(`postgres://app:pw@127.0.0.1:${hole.port}/appdb`, {
    connectTimeoutMs: 200,
  });
  const query = pool.query("select 1");
  query.catch(() => {});
  try {
    const started = Date.now();
    const error = await rejection(query, 2_000);
    assertConnectionError(error, "CONNECT_TIMEOUT");
    assert.ok(Date.now() - started < 1_500, `Took ${Date.now() - started} ms`);
  } finally {
    hole.close(); // the pending connect is refused now, and settles
    await within(query.catch(() => {}), 10_000);
    await pool.end();
  }
});

Deno.test("a refused connection fails with CONNECT_FAILED, the OS's reason and no password", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = portOf(listener);
  listener.close();
  const password = "Hunter2-secret";
  await withPool(`postgres://app:${password}@127.0.0.1:${port}/appdb`, {}, async (pool) => {
    const error = await rejection(pool.query("select 1"));
    assertConnectionError(error, "CONNECT_FAILED");
    assert.match(error.message, new RegExp(`127\\.0\\.0\\.1:${port}: .*refused`, "i"));
    assert.ok(error.cause instanceof Error);
    assertNoSecret(error, password);
  });
});

dbTest("connecting to a database that does not exist fails with the server's 3D000", async (db) => {
  const url = new URL(db.url);
  url.pathname = `/${uniqueName("missing")}`;
  await withPool(url.href, {}, async (pool) => {
    const error = await rejection(pool.query("select 1"));
    const reported = error instanceof PgConnectionError ? error.cause : error;
    assertPgError(reported, "3D000");
  });
}, { ignore: !ON_SERVER });

dbTest(
  "end() lets a running query finish, fails queued ones with POOL_ENDED, then refuses more",
  async (db) => {
    await withProxiedPool(db.url, { max: 1 }, async (pool, proxy) => {
      await pool.query("select 1");
      proxy.latencyMs = 100;
      const running = pool.query("select 1 as one");
      const queued = pool.query("select 2");
      queued.catch(() => {});
      await within(pool.end({ timeoutMs: 5_000 }));
      assert.deepEqual(rowsOf(await running), [{ one: 1 }]);
      assertConnectionError(await rejection(queued), "POOL_ENDED");
      assertConnectionError(await rejection(pool.query("select 3")), "POOL_ENDED");
      assertConnectionError(
        await rejection(pool.transaction((tx) => tx.query("select 4"))),
        "POOL_ENDED",
      );
    });
  },
);

dbTest("end() cuts a query still running after its timeoutMs with CONNECTION_LOST", async (db) => {
  await withProxiedPool(db.url, { max: 1 }, async (pool, proxy) => {
    await pool.query("select 1");
    proxy.latencyMs = 1_000; // the answer cannot come before end() gives up
    const running = pool.query("select 1");
    running.catch(() => {});
    const started = Date.now();
    await within(pool.end({ timeoutMs: 100 }), 2_000);
    assertConnectionError(await rejection(running, 2_000), "CONNECTION_LOST");
    assert.ok(Date.now() - started < 600, `Took ${Date.now() - started} ms`);
  });
});

// ---- password authentication on the server ------------------------------------------------------

/** The roles pg_hba.conf asks for a password (see `.ci/run`); "pg_" role names are reserved. */
const AUTH_ROLES = {
  "scram-sha-256": "pgtest_scram",
  md5: "pgtest_md5",
  password: "pgtest_password",
} as const;

/** Sets `role`'s password (stored as `encryption`), runs `fn`, then drops the role. */
async function withLoginRole(
  role: string,
  encryption: "md5" | "scram-sha-256",
  password: string,
  fn: () => Promise<void>,
) {
  const sql = connect(SERVER_URL, { max: 1 });
  try {
    await sql.begin(async (tx) => {
      await tx.unsafe(`set local password_encryption = '${encryption}'`);
      await tx.unsafe(
        `do $$ begin create role ${role}; exception when duplicate_object then null; end $$`,
      );
      await tx.unsafe(`alter role ${role} login password ${literal(password)}`);
    });
    await fn();
  } finally {
    await sql.unsafe(`drop role if exists ${role}`).catch(() => {});
    await sql.end();
  }
}

function roleUrl(role: string, password?: string): string {
  const credentials = password === undefined ? role : `${role}:${encodeURIComponent(password)}`;
  return `postgres://${credentials}@127.0.0.1:5432/postgres`;
}

/** Logs in as `role` and returns the server's idea of who that is. */
async function loginAs(role: string, password?: string): Promise<unknown> {
  return await withPool(roleUrl(role, password), { connectTimeoutMs: 5_000 }, async (pool) => {
    return (await within(row(pool, "select current_user as who"))).who;
  });
}

async function assertWrongPasswordFails(role: string, password: string) {
  const error = await rejection(loginAs(role, password));
  assertConnectionError(error, "AUTH_FAILED");
  assertPgError(error.cause, "28P01");
  assertNoSecret(error, password);
}

const authTest = (name: string, fn: () => Promise<void>) =>
  Deno.test({ name, ignore: !AUTH_TESTS, fn });

authTest(
  "the client logs in with scram-sha-256 and fails a wrong password with AUTH_FAILED",
  async () => {
    const role = AUTH_ROLES["scram-sha-256"];
    const password = `scram-${crypto.randomUUID()}`;
    await withLoginRole(role, "scram-sha-256", password, async () => {
      assert.equal(await loginAs(role, password), role);
      await assertWrongPasswordFails(role, `${password}x`);
    });
  },
);

authTest(
  "the client logs in with md5, whatever the salt, and fails a wrong password with AUTH_FAILED",
  async () => {
    const role = AUTH_ROLES.md5;
    const password = `md5-${crypto.randomUUID()}`;
    await withLoginRole(role, "md5", password, async () => {
      // Each login has a random salt; eight of them all but surely include bytes above 0x7f.
      for (let i = 0; i < 8; i++) assert.equal(await loginAs(role, password), role, `login ${i}`);
      await assertWrongPasswordFails(role, `${password}x`);
    });
  },
);

authTest(
  "the client logs in with a cleartext password and fails a wrong one with AUTH_FAILED",
  async () => {
    const role = AUTH_ROLES.password;
    const password = `plain-${crypto.randomUUID()}`;
    await withLoginRole(role, "scram-sha-256", password, async () => {
      assert.equal(await loginAs(role, password), role);
      await assertWrongPasswordFails(role, `${password}x`);
    });
  },
);

authTest("a password with @ : / % percent-encoded in the URL logs in", async () => {
  const role = AUTH_ROLES["scram-sha-256"];
  const password = `p@ss:w/rd%41?#&=+ 'é`;
  await withLoginRole(role, "scram-sha-256", password, async () => {
    assert.equal(await loginAs(role, password), role);
  });
});

authTest("a role that needs a password fails with AUTH_FAILED when the URL has none", async () => {
  const role = AUTH_ROLES["scram-sha-256"];
  await withLoginRole(role, "scram-sha-256", `scram-${crypto.randomUUID()}`, async () => {
    const error = await rejection(loginAs(role));
    assertConnectionError(error, "AUTH_FAILED");
  });
});

authTest("a SCRAM password is normalized as the server normalizes it (SASLprep)", async () => {
  const role = AUTH_ROLES["scram-sha-256"];
  // The server stores SASLprep("Ⅸ-pw") = "IX-pw" (NFKC); the client must send the same.
  const password = "\u2168-pw";
  await withLoginRole(role, "scram-sha-256", password, async () => {
    assert.equal(await loginAs(role, password), role);
  });
});

// ---- TLS ----------------------------------------------------------------------------------------

const SSL_REQUEST_CODE = 80877103;

/** A TLS-terminating relay in front of a database, as a server with `ssl = on` behaves. */
interface TlsRelay {
  port: number;
  /** SSLRequests answered so far. */
  readonly sslRequests: number;
  /** TLS handshakes completed so far. */
  readonly tlsSessions: number;
  /** Every byte the clients sent, as they went over the wire. */
  wireBytes(): Uint8Array;
  close(): Promise<void>;
}

/**
 * Answers an SSLRequest with `answer`; after "S", the client's TLS handshake is relayed to a
 * local TLS listener (Deno cannot start TLS as the server on an accepted connection), whose plain
 * side is piped to the database. Without an SSLRequest, the connection is relayed as it is.
 */
async function startTlsRelay(databaseUrl: string, answer: "S" | "N"): Promise<TlsRelay> {
  const target = parseDatabaseUrl(databaseUrl);
  const [cert, key] = await Promise.all([
    Deno.readTextFile(new URL("server.crt", TLS_FIXTURES)),
    Deno.readTextFile(new URL("server.key", TLS_FIXTURES)),
  ]);
  const tlsListener = Deno.listenTls({ hostname: "127.0.0.1", port: 0, cert, key });
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const tasks = new Set<Promise<void>>();
  const conns = new Set<Deno.Conn>();
  const wire: Uint8Array[] = [];
  let sslRequests = 0;
  let tlsSessions = 0;

  const track = (task: Promise<void>) => {
    const done = task.catch(() => {}).finally(() => tasks.delete(done));
    tasks.add(done);
  };
  const open = async (hostname: string, port: number) => {
    const conn = await Deno.connect({ hostname, port });
    conns.add(conn);
    return conn;
  };
  const toDatabase = () => open(target.hostname, target.port);

  const serveTls = async (conn: Deno.TlsConn) => {
    conns.add(conn);
    await conn.handshake();
    tlsSessions += 1;
    const database = await toDatabase();
    await Promise.all([pipe(conn, database), pipe(database, conn)]);
  };
  const serve = async (client: Deno.Conn) => {
    conns.add(client);
    const head = await readExactly(client, 8);
    if (!head) return closeQuietly(client);
    wire.push(head);
    let inner: Deno.Conn;
    if (new DataView(head.buffer).getInt32(4) === SSL_REQUEST_CODE) {
      sslRequests += 1;
      await client.write(encoder.encode(answer));
      inner = answer === "S" ? await open("127.0.0.1", portOf(tlsListener)) : await toDatabase();
    } else {
      inner = await toDatabase();
      await inner.write(head);
    }
    await Promise.all([pipe(client, inner, (chunk) => wire.push(chunk)), pipe(inner, client)]);
  };

  const accepting = [
    (async () => {
      for await (const conn of tlsListener) track(serveTls(conn));
    })().catch(() => {}),
    (async () => {
      for await (const conn of listener) track(serve(conn));
    })().catch(() => {}),
  ];
  return {
    port: portOf(listener),
    get sslRequests() {
      return sslRequests;
    },
    get tlsSessions() {
      return tlsSessions;
    },
    wireBytes: () => concat(wire),
    async close() {
      listener.close();
      tlsListener.close();
      await Promise.all(accepting);
      for (const conn of conns) closeQuietly(conn);
      await Promise.all([...tasks]);
    },
  };
}

/** `databaseUrl` pointed at the relay under `hostname`, with TLS settings. */
function relayUrl(
  databaseUrl: string,
  relay: TlsRelay,
  hostname: string,
  params: Record<string, string>,
): string {
  const url = new URL(withParams(databaseUrl, params));
  url.hostname = hostname;
  url.port = String(relay.port);
  return url.href;
}

const CA_FILE = new URL("ca.crt", TLS_FIXTURES).pathname;

dbTest(
  "sslmode=verify-full with the server's CA connects over TLS, encrypting every statement",
  async (db) => {
    const relay = await startTlsRelay(db.url, "S");
    try {
      const url = relayUrl(db.url, relay, "localhost", {
        sslmode: "verify-full",
        sslrootcert: CA_FILE,
      });
      await withPool(url, {}, async (pool) => {
        assert.deepEqual(await within(row(pool, "select 'pg_test_tls_marker' as said")), {
          said: "pg_test_tls_marker",
        });
      });
      assert.equal(relay.sslRequests, 1);
      assert.equal(relay.tlsSessions, 1);
      assert.ok(!contains(relay.wireBytes(), encoder.encode("pg_test_tls_marker")));
    } finally {
      await relay.close();
    }
  },
);

dbTest(
  "sslmode=require also checks the certificate against the trusted authorities",
  async (db) => {
    const relay = await startTlsRelay(db.url, "S");
    try {
      const trusted = relayUrl(db.url, relay, "localhost", {
        sslmode: "require",
        sslrootcert: CA_FILE,
      });
      await withPool(trusted, {}, async (pool) => {
        assert.deepEqual(await within(row(pool, "select 1 as one")), { one: 1 });
      });
      const untrusted = relayUrl(db.url, relay, "localhost", { sslmode: "require" });
      await withPool(untrusted, {}, async (pool) => {
        const error = await rejection(pool.query("select 1"));
        assertConnectionError(error, "CONNECT_FAILED");
        assert.match(error.message, /certificate|issuer/i);
      });
    } finally {
      await relay.close();
    }
  },
);

dbTest("TLS refuses a certificate for another host name", async (db) => {
  const relay = await startTlsRelay(db.url, "S");
  try {
    const url = relayUrl(db.url, relay, "127.0.0.1", {
      sslmode: "verify-full",
      sslrootcert: CA_FILE,
    });
    await withPool(url, {}, async (pool) => {
      const error = await rejection(pool.query("select 1"));
      assertConnectionError(error, "CONNECT_FAILED");
      assert.match(error.message, /not valid for name "127\.0\.0\.1"/);
    });
    assert.equal(relay.tlsSessions, 0);
  } finally {
    await relay.close();
  }
});

dbTest(
  "sslmode=require against a server that refuses TLS fails with CONNECT_FAILED naming TLS",
  async (db) => {
    const relay = await startTlsRelay(db.url, "N");
    try {
      for (const sslmode of ["require", "verify-ca", "verify-full"]) {
        const url = relayUrl(db.url, relay, "localhost", { sslmode, sslrootcert: CA_FILE });
        await withPool(url, {}, async (pool) => {
          const error = await rejection(pool.query("select 1"));
          assertConnectionError(error, "CONNECT_FAILED");
          assert.match(error.message, /TLS/);
          assert.ok(error.message.includes(sslmode), error.message);
        });
      }
    } finally {
      await relay.close();
    }
  },
);

dbTest(
  "sslmode disable, allow and prefer connect in plain text without asking for TLS",
  async (db) => {
    const relay = await startTlsRelay(db.url, "S");
    try {
      for (const sslmode of ["disable", "allow", "prefer"]) {
        const url = relayUrl(db.url, relay, "127.0.0.1", { sslmode });
        await withPool(url, {}, async (pool) => {
          assert.deepEqual(await within(row(pool, "select 1 as one")), { one: 1 }, sslmode);
        });
      }
      assert.equal(relay.sslRequests, 0);
      assert.equal(relay.tlsSessions, 0);
    } finally {
      await relay.close();
    }
  },
);

/**
 * How to reach the DATABASE_URL server over TLS, when it has `ssl = on`: a name on its certificate
 * that reaches it, and the file to trust (the fixtures' CA when it signed the certificate, as on
 * CI, else the certificate itself). Undefined when any of it is missing; CI requires it.
 */
async function serverTlsTarget(): Promise<{ url: string; rootFile: string } | undefined> {
  if (DATABASE_URL === undefined) return undefined;
  const sql = connect(DATABASE_URL, { max: 1 });
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
    const server = new URL(DATABASE_URL);
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

const SERVER_TLS = await serverTlsTarget();
if (SERVER_TLS === undefined && ON_SERVER && Deno.env.get("CI") === "true") {
  throw new Error("CI runs on a server with TLS (.ci/run turns it on), but none was found");
}

Deno.test({
  name: "the server's own TLS: verify-full gives an encrypted session",
  ignore: SERVER_TLS === undefined,
  fn: async () => {
    assert.ok(SERVER_TLS);
    const url = withParams(SERVER_TLS.url, {
      sslmode: "verify-full",
      sslrootcert: SERVER_TLS.rootFile,
    });
    await withPool(url, {}, async (pool) => {
      assert.deepEqual(
        await within(row(pool, "select ssl from pg_stat_ssl where pid = pg_backend_pid()")),
        { ssl: true },
      );
    });
  },
});

// ---- teardown -----------------------------------------------------------------------------------

Deno.test({
  name: "the test database closes cleanly",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    if (shared === undefined) return;
    const { started, sql } = await shared;
    shared = undefined;
    await sql.end();
    await started.close();
  },
});
