/** One server connection: TCP, TLS as the sslmode asks, authentication, then statements in order. */
import { PgConnectionError, PgError } from "./errors.ts";
import {
  type BackendMessage,
  BodyReader,
  cancelRequest,
  decoder,
  encoder,
  errorFields,
  message,
  MessageReader,
  queryMessage,
  startupMessage,
} from "./messages.ts";
import { md5Password, ScramClient } from "./scram.ts";
import { negotiateTls, writeAll } from "./tls.ts";
import type { ConnectionSettings } from "./url.ts";
import { decodeValue, type Field } from "./values.ts";

/** One statement's outcome: its command tag (`UPDATE 1`) and its rows, if it returned any. */
export interface QueryResult {
  command: string;
  rows: Record<string, unknown>[];
}

/** What the server gave to cancel this connection's running statement (BackendKeyData). */
export interface BackendKey {
  pid: number;
  secret: number;
}

interface Pending {
  results: QueryResult[];
  fields: Field[] | undefined;
  rows: Record<string, unknown>[];
  error: PgError | undefined;
  resolve(results: QueryResult[]): void;
  reject(error: Error): void;
}

/** Options for {@link Connection.open}. */
export interface OpenOptions {
  /** Milliseconds to connect, negotiate TLS and authenticate; 0 for no limit. */
  connectTimeoutMs: number;
  /** Called when a statement times out, before the connection closes, to cancel it. */
  onQueryTimeout?: (key: BackendKey) => void;
}

function closeQuietly(conn: Deno.Conn) {
  try {
    conn.close();
  } catch {
    // Already closed.
  }
}

/** A time limit on opening a connection: when it passes, every socket opened so far closes. */
class Deadline {
  readonly #abort = new AbortController();
  readonly #conns = new Set<Deno.Conn>();
  readonly #timer: ReturnType<typeof setTimeout> | undefined;
  timedOut = false;

  constructor(ms: number, signal?: AbortSignal) {
    const expire = () => {
      this.timedOut = true;
      this.#abort.abort();
      this.closeAll();
    };
    this.#timer = ms > 0 ? setTimeout(expire, ms) : undefined;
    signal?.addEventListener("abort", expire, { once: true });
  }

  get signal(): AbortSignal {
    return this.#abort.signal;
  }

  track(conn: Deno.Conn) {
    this.#conns.add(conn);
    if (this.timedOut) closeQuietly(conn);
  }

  closeAll() {
    for (const conn of this.#conns) closeQuietly(conn);
  }

  clear() {
    clearTimeout(this.#timer);
  }
}

/** Opens TCP to the server and negotiates TLS as the sslmode asks. */
async function openTransport(settings: ConnectionSettings, deadline: Deadline): Promise<Deno.Conn> {
  const tcp = await Deno.connect({
    hostname: settings.hostname,
    port: settings.port,
    signal: deadline.signal,
  });
  deadline.track(tcp);
  if (deadline.timedOut) throw new Error("timed out");
  tcp.setNoDelay(true);
  const conn = await negotiateTls(tcp, settings);
  deadline.track(conn);
  return conn;
}

/**
 * Asks the server, on a connection of its own (with TLS as the sslmode asks), to cancel what the
 * backend of `key` is running, and waits for the server to hang up, which it does once it has
 * passed the request on. Best effort: a failure or `timeoutMs` passing ends it quietly, as does
 * `signal`.
 */
export async function sendCancelRequest(
  settings: ConnectionSettings,
  key: BackendKey,
  options: { timeoutMs: number; signal?: AbortSignal },
): Promise<void> {
  const deadline = new Deadline(options.timeoutMs, options.signal);
  try {
    const conn = await openTransport(settings, deadline);
    await writeAll(conn, cancelRequest(key.pid, key.secret));
    await conn.read(new Uint8Array(1));
  } catch {
    // The statement still ends with its connection, which closes regardless.
  } finally {
    deadline.clear();
    deadline.closeAll();
  }
}

/** One server connection: statements on it are answered in the order they were sent. */
export class Connection {
  #conn: Deno.Conn;
  #reader: MessageReader;
  #pending: Pending[] = [];
  #writing: Promise<unknown> = Promise.resolve();
  #closed = false;
  #closeReason: Error | undefined;
  #backendKey: BackendKey | undefined;
  #onQueryTimeout: ((key: BackendKey) => void) | undefined;
  /** The server's transaction status after the last statement: I (idle), T (in one), E (failed). */
  status = "I";

  private constructor(conn: Deno.Conn, options: OpenOptions) {
    this.#conn = conn;
    this.#reader = new MessageReader(conn);
    this.#onQueryTimeout = options.onQueryTimeout;
  }

  /** Connects, negotiates TLS as the sslmode asks, and authenticates. */
  static async open(settings: ConnectionSettings, options: OpenOptions): Promise<Connection> {
    const target = `${settings.hostname}:${settings.port}`;
    const deadline = new Deadline(options.connectTimeoutMs);
    try {
      const connection = new Connection(await openTransport(settings, deadline), options);
      await connection.#startup(settings);
      if (deadline.timedOut) throw new Error("timed out");
      connection.#readLoop();
      return connection;
    } catch (error) {
      deadline.closeAll();
      if (deadline.timedOut) {
        throw new PgConnectionError(
          "CONNECT_TIMEOUT",
          `Connecting to the database at ${target} timed out`,
        );
      }
      if (error instanceof PgConnectionError || error instanceof PgError) throw error;
      const reason = error instanceof Error ? `: ${error.message}` : "";
      throw new PgConnectionError(
        "CONNECT_FAILED",
        `Could not connect to the database at ${target}${reason}`,
        { cause: error },
      );
    } finally {
      deadline.clear();
    }
  }

  async #startup(settings: ConnectionSettings) {
    // Only what every pooler passes on (node-postgres sends the same); timestamps are read in the
    // ISO DateStyle that servers default to, and left as text in any other.
    await this.#write(startupMessage({
      user: settings.user,
      database: settings.database,
      client_encoding: "UTF8",
      ...settings.parameters,
    }));
    let scram: ScramClient | undefined;
    while (true) {
      const next = await this.#reader.next();
      if (next === null) {
        throw new PgConnectionError("CONNECT_FAILED", "The database closed the connection");
      }
      const body = new BodyReader(next.body);
      switch (next.type) {
        case "R": {
          const kind = body.int32();
          if (kind === 0) break;
          if (kind === 3) {
            await this.#write(message("p", requirePassword(settings)));
          } else if (kind === 5) {
            const salt = body.bytes(4);
            await this.#write(
              message("p", await md5Password(settings.user, requirePassword(settings), salt)),
            );
          } else if (kind === 10) {
            const mechanisms: string[] = [];
            for (let name = body.cstring(); name !== ""; name = body.cstring()) {
              mechanisms.push(name);
            }
            if (!mechanisms.includes("SCRAM-SHA-256")) {
              throw new PgConnectionError(
                "AUTH_FAILED",
                `No supported SASL mechanism among "${mechanisms.join(", ")}"`,
              );
            }
            scram = new ScramClient(requirePassword(settings));
            const first = encoder.encode(scram.first());
            await this.#write(message("p", "SCRAM-SHA-256", first.length, first));
          } else if (kind === 11 && scram) {
            const final = await scram.final(decoder.decode(body.rest()));
            await this.#write(message("p", encoder.encode(final)));
          } else if (kind === 12 && scram) {
            scram.verify(decoder.decode(body.rest()));
          } else {
            throw new PgConnectionError(
              "AUTH_FAILED",
              `Unsupported authentication method ${kind}`,
            );
          }
          break;
        }
        case "E": {
          const error = new PgError(errorFields(next.body));
          // 28P01 and 28000 are bad passwords and rejected roles; the rest are the server's.
          throw error.code.startsWith("28")
            ? new PgConnectionError("AUTH_FAILED", error.message, { cause: error })
            : error;
        }
        case "K":
          this.#backendKey = { pid: body.int32(), secret: body.int32() };
          break;
        case "Z":
          this.status = String.fromCharCode(next.body[0] ?? 73);
          this.#reader.maxLength = 1024 * 1024 * 1024;
          return;
        default:
          // ParameterStatus, NoticeResponse: nothing to do.
          break;
      }
    }
  }

  /** True when no statement sent on it awaits its answer. */
  get idle(): boolean {
    return this.#pending.length === 0;
  }

  /** True once the connection is closed or lost; nothing more can run on it. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Keeps the process alive for this connection (in use), or not (idle in the pool). */
  ref(active: boolean) {
    if (this.#closed) return;
    if (active) this.#conn.ref();
    else this.#conn.unref();
  }

  /**
   * Sends SQL text as one simple-protocol query, which may hold several statements, and
   * resolves with each statement's result. A statement's error rejects it with {@link PgError}
   * once the server is ready again (the rest of the text is skipped); a lost connection rejects
   * at once with {@link PgConnectionError}. Past `timeoutMs` without an answer, the server is
   * asked to cancel the statement and the connection closes, failing what was in flight on it.
   */
  query(text: string, timeoutMs?: number): Promise<QueryResult[]> {
    if (this.#closed) return Promise.reject(this.#lostError());
    return new Promise((resolve, reject) => {
      // A server that stops answering (a connection dropped without a reset, a hung host) would
      // otherwise keep the statement waiting for TCP to give up, many minutes later.
      const timer = timeoutMs === undefined ? undefined : setTimeout(() => {
        this.#timeOut(timeoutMs);
      }, timeoutMs);
      this.#pending.push({
        results: [],
        fields: undefined,
        rows: [],
        error: undefined,
        resolve: (results) => {
          clearTimeout(timer);
          resolve(results);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      });
      this.#write(queryMessage(text)).catch((error) => this.#fail(error));
    });
  }

  /** Closes the connection, telling the server first when it still listens. */
  close() {
    if (this.#closed) return;
    this.#write(message("X")).catch(() => {}).finally(() => {
      this.#fail(new PgConnectionError("CONNECTION_LOST", "The database connection was closed"));
    });
  }

  /**
   * A statement went unanswered for too long. Closing the socket alone would leave the server
   * running it (and holding its locks) until it ends, so the server is asked to cancel it. The
   * caller does not wait for that: when the server or the network is what stopped answering, the
   * cancel would wait as long.
   */
  #timeOut(timeoutMs: number) {
    if (this.#closed) return;
    if (this.#backendKey) this.#onQueryTimeout?.(this.#backendKey);
    this.#fail(
      new PgConnectionError("QUERY_TIMEOUT", `The database did not answer within ${timeoutMs} ms`),
    );
  }

  #write(bytes: Uint8Array): Promise<void> {
    const write = this.#writing.then(() => writeAll(this.#conn, bytes));
    this.#writing = write.catch(() => {});
    return write;
  }

  async #readLoop() {
    try {
      while (true) {
        const next = await this.#reader.next();
        if (next === null) break;
        this.#dispatch(next);
      }
      this.#fail(undefined);
    } catch (error) {
      this.#fail(error);
    }
  }

  #dispatch(next: BackendMessage) {
    const current = this.#pending[0];
    switch (next.type) {
      case "T": {
        if (!current) break;
        const body = new BodyReader(next.body);
        const count = body.int16();
        const fields: Field[] = [];
        for (let i = 0; i < count; i++) {
          const name = body.cstring();
          body.int32(); // table
          body.int16(); // column
          const typeOid = body.int32();
          body.bytes(8); // type size, modifier, format
          fields.push({ name, typeOid });
        }
        current.fields = fields;
        current.rows = [];
        break;
      }
      case "D": {
        if (!current?.fields) break;
        const body = new BodyReader(next.body);
        const count = body.int16();
        const row: Record<string, unknown> = {};
        for (let i = 0; i < count; i++) {
          const length = body.int32();
          const field = current.fields[i];
          const value = length < 0 ? null : decoder.decode(body.bytes(length));
          if (field) row[field.name] = value === null ? null : decodeValue(field.typeOid, value);
        }
        current.rows.push(row);
        break;
      }
      case "C":
        current?.results.push({ command: new BodyReader(next.body).cstring(), rows: current.rows });
        if (current) {
          current.fields = undefined;
          current.rows = [];
        }
        break;
      case "I":
        current?.results.push({ command: "", rows: [] });
        break;
      case "E": {
        const error = new PgError(errorFields(next.body));
        if (current) current.error ??= error;
        else this.#closeReason = error; // a FATAL error the server sends before hanging up
        break;
      }
      case "Z": {
        this.status = String.fromCharCode(next.body[0] ?? 73);
        const done = this.#pending.shift();
        if (!done) break;
        if (done.error) done.reject(done.error);
        else done.resolve(done.results);
        break;
      }
      case "N":
      case "S":
      case "A":
      case "K":
        break;
      default:
        // COPY and the extended protocol are never asked for.
        throw new PgConnectionError(
          "PROTOCOL_VIOLATION",
          `Unexpected message "${next.type}" from the database`,
        );
    }
  }

  #lostError(cause?: unknown): PgConnectionError {
    return new PgConnectionError("CONNECTION_LOST", "The database connection was lost", {
      cause: cause ?? this.#closeReason,
    });
  }

  #fail(cause: unknown) {
    const firstFailure = !this.#closed;
    this.#closed = true;
    if (firstFailure) closeQuietly(this.#conn);
    for (const pending of this.#pending.splice(0)) {
      pending.reject(
        cause instanceof PgConnectionError ? cause : this.#lostError(cause ?? pending.error),
      );
    }
  }
}

function requirePassword(settings: ConnectionSettings): string {
  if (settings.password === undefined) {
    throw new PgConnectionError(
      "AUTH_FAILED",
      "The database asks for a password; the URL has none",
    );
  }
  return settings.password;
}
