/**
 * A small PostgreSQL client on Deno's own sockets: the simple query protocol only (SQL text in,
 * rows of text out), a pool, and transactions whose BEGIN and COMMIT travel with their first and
 * last statements. The functions need nothing more, and this is what they gain over a general
 * driver: no Node compatibility layer to load at start (about 15 ms of every cold start), two
 * round trips for a transaction with a read in the middle, and a connection lost at any point
 * fails its statements at once and leaves the pool instead of wedging it.
 */

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** The protocol version of the startup message (3.0). */
const PROTOCOL_VERSION = 196608;
const SSL_REQUEST_CODE = 80877103;

/** An error the server reported: for a statement (the connection stays usable), or at connecting. */
export class PgError extends Error {
  override name = "PgError";
  /** SQLSTATE, such as `23505` or `57014`. */
  readonly code: string;
  readonly severity: string;
  readonly detail: string | undefined;
  readonly hint: string | undefined;

  constructor(fields: Map<string, string>) {
    super(fields.get("M") ?? "Unknown database error");
    this.code = fields.get("C") ?? "XX000";
    this.severity = fields.get("V") ?? fields.get("S") ?? "ERROR";
    this.detail = fields.get("D");
    this.hint = fields.get("H");
  }
}

/** Why a connection could not be used. */
export type PgConnectionErrorCode =
  | "CONNECT_FAILED"
  | "CONNECT_TIMEOUT"
  | "AUTH_FAILED"
  | "CONNECTION_LOST"
  | "PROTOCOL_VIOLATION"
  | "QUERY_TIMEOUT"
  | "POOL_ENDED";

/** A connection that could not be opened, or was lost; what was in flight on it failed. */
export class PgConnectionError extends Error {
  override name = "PgConnectionError";
  readonly code: PgConnectionErrorCode;

  constructor(code: PgConnectionErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
  }
}

/** One statement's outcome: its command tag (`UPDATE 1`) and its rows, if it returned any. */
export interface QueryResult {
  command: string;
  rows: Record<string, unknown>[];
}

/** Where and how to connect, read from a `postgres://` URL. */
export interface ConnectionSettings {
  hostname: string;
  port: number;
  user: string;
  password: string | undefined;
  database: string;
  /** `disable`, `allow` and `prefer` connect in plain text; the others use verified TLS. */
  sslmode: string;
  /** A file of PEM certificates to trust for TLS, beside the system's. */
  sslrootcert: string | undefined;
  /** Sent to the server with the startup message (`application_name`, `options`, settings). */
  parameters: Record<string, string>;
}

const TLS_MODES = new Set(["require", "verify-ca", "verify-full"]);
const SSL_MODES = new Set(["disable", "allow", "prefer", ...TLS_MODES]);

/** Percent-decodes one part of the URL; a malformed escape is a TypeError naming no value. */
function decodeUrlPart(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    throw new TypeError("Invalid database URL: malformed percent-encoding");
  }
}

/** Reads a `postgres://` or `postgresql://` URL; its password never appears in an error. */
export function parseDatabaseUrl(url: string): ConnectionSettings {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new TypeError("Invalid database URL");
  }
  if (parsed.protocol !== "postgres:" && parsed.protocol !== "postgresql:") {
    throw new TypeError(`Invalid database URL scheme "${parsed.protocol}"`);
  }
  const hostname = parsed.hostname.replace(/^\[(.*)\]$/, "$1");
  if (hostname === "") throw new TypeError("Invalid database URL: no host");
  const port = parsed.port === "" ? 5432 : Number(parsed.port);
  const user = decodeUrlPart(parsed.username);
  if (user === "") throw new TypeError("Invalid database URL: no user");
  const parameters: Record<string, string> = {};
  let sslmode = "prefer";
  let sslrootcert: string | undefined;
  // Query values are read as URLSearchParams reads them ("+" is a space), as a URL built in
  // JavaScript writes them.
  for (const [key, value] of parsed.searchParams) {
    if (key === "sslmode") sslmode = value;
    else if (key === "sslrootcert") sslrootcert = value;
    else parameters[key] = value;
  }
  if (!SSL_MODES.has(sslmode)) throw new TypeError(`Invalid sslmode "${sslmode}"`);
  return {
    hostname,
    port,
    user,
    password: parsed.password === "" ? undefined : decodeUrlPart(parsed.password),
    database: decodeUrlPart(parsed.pathname.slice(1)) || user,
    sslmode,
    sslrootcert,
    parameters,
  };
}

// ---- messages -----------------------------------------------------------------------------------

/** Builds one frontend message: a type byte (none for startup) and a length-prefixed body. */
function message(type: string | null, ...parts: (Uint8Array | string | number)[]): Uint8Array {
  const chunks = parts.map((part) => {
    if (typeof part === "number") {
      const bytes = new Uint8Array(4);
      new DataView(bytes.buffer).setInt32(0, part);
      return bytes;
    }
    return typeof part === "string" ? encoder.encode(`${part}\0`) : part;
  });
  const bodyLength = chunks.reduce((sum, chunk) => sum + chunk.length, 0);
  const offset = type === null ? 0 : 1;
  const out = new Uint8Array(offset + 4 + bodyLength);
  const view = new DataView(out.buffer);
  if (type !== null) out[0] = type.charCodeAt(0);
  view.setInt32(offset, 4 + bodyLength);
  let at = offset + 4;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.length;
  }
  return out;
}

interface BackendMessage {
  type: string;
  body: Uint8Array;
}

/** Splits the server's byte stream into messages. */
class MessageReader {
  #conn: Deno.Conn;
  #buffer = new Uint8Array(16 * 1024);
  #start = 0;
  #end = 0;
  /**
   * The longest message accepted. Small until the server has authenticated us, so that talking
   * to something that is not PostgreSQL fails at once instead of buffering what it sends.
   */
  maxLength = 64 * 1024;

  constructor(conn: Deno.Conn) {
    this.#conn = conn;
  }

  /** The next whole message, or null when the server closed the connection. */
  async next(): Promise<BackendMessage | null> {
    while (true) {
      const available = this.#end - this.#start;
      if (available >= 5) {
        const view = new DataView(this.#buffer.buffer, this.#start);
        const length = view.getInt32(1);
        if (length < 4 || length > this.maxLength) {
          throw new PgConnectionError("PROTOCOL_VIOLATION", "Invalid message length");
        }
        if (available >= 1 + length) {
          const type = String.fromCharCode(this.#buffer[this.#start] ?? 0);
          const body = this.#buffer.subarray(this.#start + 5, this.#start + 1 + length);
          this.#start += 1 + length;
          return { type, body };
        }
        this.#reserve(1 + length);
      } else {
        this.#reserve(5);
      }
      const read = await this.#conn.read(this.#buffer.subarray(this.#end));
      if (read === null) return null;
      this.#end += read;
    }
  }

  /** Makes room for a message of `size` bytes from the current start, and for reading more. */
  #reserve(size: number) {
    if (this.#start + size <= this.#buffer.length && this.#end < this.#buffer.length) return;
    if (size <= this.#buffer.length) {
      this.#buffer.copyWithin(0, this.#start, this.#end);
    } else {
      const grown = new Uint8Array(Math.max(size, this.#buffer.length * 2));
      grown.set(this.#buffer.subarray(this.#start, this.#end));
      this.#buffer = grown;
    }
    this.#end -= this.#start;
    this.#start = 0;
  }
}

/** Reads the fields of a message body in order. */
class BodyReader {
  #view: DataView;
  #bytes: Uint8Array;
  at = 0;

  constructor(bytes: Uint8Array) {
    this.#bytes = bytes;
    this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  int16(): number {
    const value = this.#view.getInt16(this.at);
    this.at += 2;
    return value;
  }

  int32(): number {
    const value = this.#view.getInt32(this.at);
    this.at += 4;
    return value;
  }

  cstring(): string {
    const end = this.#bytes.indexOf(0, this.at);
    const stop = end === -1 ? this.#bytes.length : end;
    const value = decoder.decode(this.#bytes.subarray(this.at, stop));
    this.at = stop + 1;
    return value;
  }

  bytes(length: number): Uint8Array {
    const value = this.#bytes.subarray(this.at, this.at + length);
    this.at += length;
    return value;
  }

  rest(): Uint8Array {
    return this.bytes(this.#bytes.length - this.at);
  }
}

/** The fields of an ErrorResponse or NoticeResponse, by their one-letter codes. */
function errorFields(body: Uint8Array): Map<string, string> {
  const reader = new BodyReader(body);
  const fields = new Map<string, string>();
  while (reader.at < body.length) {
    const code = String.fromCharCode(reader.bytes(1)[0] ?? 0);
    if (code === "\0") break;
    fields.set(code, reader.cstring());
  }
  return fields;
}

// ---- values -------------------------------------------------------------------------------------

interface Field {
  name: string;
  typeOid: number;
}

const BOOL = 16;
const INTEGERS = new Set([21, 23, 26]);
const FLOATS = new Set([700, 701]);
const JSON_TYPES = new Set([114, 3802]);
const TIMESTAMPS = new Set([1114, 1184]);

/** Converts a text-format value: booleans, small numbers, JSON and timestamps become JS values. */
function decodeValue(typeOid: number, text: string): unknown {
  if (typeOid === BOOL) return text === "t";
  if (INTEGERS.has(typeOid) || FLOATS.has(typeOid)) return Number(text);
  if (JSON_TYPES.has(typeOid)) return JSON.parse(text);
  if (TIMESTAMPS.has(typeOid)) return parseTimestamp(text, typeOid === 1184);
  return text;
}

const ISO_TIMESTAMP = /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d+)?([+-]\d\d(:\d\d){0,2})?$/;

/** `2026-11-24 21:42:50.123+00` (DateStyle ISO) as a Date. */
function parseTimestamp(text: string, withZone: boolean): Date | string {
  // Anything but ISO output (infinity, BC dates, another DateStyle) stays text.
  if (!ISO_TIMESTAMP.test(text)) return text;
  let iso = text.replace(" ", "T");
  let seconds = 0;
  if (withZone) {
    const match = /([+-])(\d\d)(?::(\d\d))?(?::(\d\d))?$/.exec(iso);
    if (match) {
      seconds = (match[1] === "-" ? -1 : 1) * Number(match[4] ?? 0);
      iso = `${iso.slice(0, match.index)}${match[1]}${match[2]}:${match[3] ?? "00"}`;
    }
  } else iso += "Z";
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? text : new Date(date.getTime() - seconds * 1000);
}

// ---- authentication ------------------------------------------------------------------------------

function toBase64(bytes: Uint8Array): string {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary);
}

function fromBase64(text: string): Uint8Array<ArrayBuffer> {
  return Uint8Array.from(atob(text), (char) => char.charCodeAt(0));
}

async function hmac(key: Uint8Array<ArrayBuffer>, data: string): Promise<Uint8Array<ArrayBuffer>> {
  const imported = await crypto.subtle.importKey(
    "raw",
    key,
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  return new Uint8Array(await crypto.subtle.sign("HMAC", imported, encoder.encode(data)));
}

/** The client's side of SCRAM-SHA-256 (RFC 5802, RFC 7677), without channel binding. */
export class ScramClient {
  readonly clientFirstBare: string;
  #password: string;
  #nonce: string;
  #serverSignature: Uint8Array | undefined;

  constructor(password: string, nonce = toBase64(crypto.getRandomValues(new Uint8Array(18)))) {
    this.#password = password.normalize("NFKC");
    this.#nonce = nonce;
    // The server takes the user from the startup message and ignores this one.
    this.clientFirstBare = `n=,r=${nonce}`;
  }

  /** The client-first-message. */
  first(): string {
    return `n,,${this.clientFirstBare}`;
  }

  /** The client-final-message, computed from the server-first-message. */
  async final(serverFirst: string): Promise<string> {
    const attributes = new Map(
      serverFirst.split(",").map((part) => [part.slice(0, 1), part.slice(2)] as const),
    );
    const nonce = attributes.get("r") ?? "";
    const salt = attributes.get("s");
    const iterations = Number(attributes.get("i"));
    if (!nonce.startsWith(this.#nonce) || nonce === this.#nonce) {
      throw new PgConnectionError("AUTH_FAILED", "The server's SCRAM nonce is invalid");
    }
    if (salt === undefined || !Number.isInteger(iterations) || iterations < 1) {
      throw new PgConnectionError("AUTH_FAILED", "The server's SCRAM parameters are invalid");
    }
    const passwordKey = await crypto.subtle.importKey(
      "raw",
      encoder.encode(this.#password),
      "PBKDF2",
      false,
      ["deriveBits"],
    );
    const salted = new Uint8Array(
      await crypto.subtle.deriveBits(
        { name: "PBKDF2", hash: "SHA-256", salt: fromBase64(salt), iterations },
        passwordKey,
        256,
      ),
    );
    const clientKey = await hmac(salted, "Client Key");
    const storedKey = new Uint8Array(await crypto.subtle.digest("SHA-256", clientKey));
    const withoutProof = `c=biws,r=${nonce}`;
    const authMessage = `${this.clientFirstBare},${serverFirst},${withoutProof}`;
    const clientSignature = await hmac(storedKey, authMessage);
    const proof = clientKey.map((byte, index) => byte ^ (clientSignature[index] ?? 0));
    this.#serverSignature = await hmac(await hmac(salted, "Server Key"), authMessage);
    return `${withoutProof},p=${toBase64(proof)}`;
  }

  /** Checks the server-final-message: the server proves it knows the password too. */
  verify(serverFinal: string) {
    const expected = this.#serverSignature;
    const signature = serverFinal.startsWith("v=") ? serverFinal.slice(2) : undefined;
    if (expected === undefined || signature !== toBase64(expected)) {
      throw new PgConnectionError("AUTH_FAILED", "The server's SCRAM signature is invalid");
    }
  }
}

/** MD5 in hex of `text` then `bytes`, for servers that still ask for MD5 passwords. */
async function md5Hex(text: string, bytes?: Uint8Array): Promise<string> {
  // MD5 is not in Web Crypto; Node's crypto loads only for a server that asks for it.
  const { createHash } = await import("node:crypto");
  const hash = createHash("md5").update(text);
  if (bytes) hash.update(bytes);
  return hash.digest("hex");
}

// ---- connection ---------------------------------------------------------------------------------

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
  connectTimeoutMs: number;
}

/** One server connection: statements on it are answered in the order they were sent. */
export class Connection {
  #conn: Deno.Conn;
  #reader: MessageReader;
  #pending: Pending[] = [];
  #writing: Promise<unknown> = Promise.resolve();
  #closed = false;
  #closeReason: Error | undefined;
  /** The server's transaction status after the last statement: I (idle), T (in one), E (failed). */
  status = "I";

  private constructor(conn: Deno.Conn) {
    this.#conn = conn;
    this.#reader = new MessageReader(conn);
  }

  /** Connects, negotiates TLS when asked to, and authenticates. */
  static async open(settings: ConnectionSettings, options: OpenOptions): Promise<Connection> {
    const target = `${settings.hostname}:${settings.port}`;
    let conn: Deno.Conn | undefined;
    let timedOut = false;
    const abort = new AbortController();
    const timer = setTimeout(() => {
      timedOut = true;
      abort.abort();
      try {
        conn?.close();
      } catch {
        // already closed
      }
    }, options.connectTimeoutMs);
    try {
      const tcp = await Deno.connect({
        hostname: settings.hostname,
        port: settings.port,
        signal: abort.signal,
      });
      conn = tcp;
      if (timedOut) throw new Error("timed out");
      tcp.setNoDelay(true);
      if (TLS_MODES.has(settings.sslmode)) conn = await startTls(tcp, settings);
      const connection = new Connection(conn);
      await connection.#startup(settings);
      if (timedOut) throw new Error("timed out");
      connection.#readLoop();
      return connection;
    } catch (error) {
      try {
        conn?.close();
      } catch {
        // already closed
      }
      if (timedOut) {
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
      clearTimeout(timer);
    }
  }

  async #startup(settings: ConnectionSettings) {
    // Only what every pooler passes on (node-postgres sends the same); timestamps are read in the
    // ISO DateStyle that servers default to, and left as text in any other.
    const parameters: Record<string, string> = {
      user: settings.user,
      database: settings.database,
      client_encoding: "UTF8",
      ...settings.parameters,
    };
    await this.#write(
      message(
        null,
        PROTOCOL_VERSION,
        ...Object.entries(parameters).flatMap(([key, value]) => [key, value]),
        new Uint8Array([0]),
      ),
    );
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
            const inner = await md5Hex(requirePassword(settings) + settings.user);
            const outer = await md5Hex(inner, salt);
            await this.#write(message("p", `md5${outer}`));
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
        case "Z":
          this.status = String.fromCharCode(next.body[0] ?? 73);
          this.#reader.maxLength = 1024 * 1024 * 1024;
          return;
        default:
          // ParameterStatus, BackendKeyData, NoticeResponse: nothing to do.
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
   * at once with {@link PgConnectionError}.
   */
  query(text: string, timeoutMs?: number): Promise<QueryResult[]> {
    if (this.#closed) return Promise.reject(this.#lostError());
    return new Promise((resolve, reject) => {
      // A server that stops answering (a connection dropped without a reset, a hung host) would
      // otherwise keep the statement waiting for TCP to give up, many minutes later.
      const timer = timeoutMs === undefined ? undefined : setTimeout(() => {
        this.#fail(
          new PgConnectionError(
            "QUERY_TIMEOUT",
            `The database did not answer within ${timeoutMs} ms`,
          ),
        );
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
      this.#write(message("Q", text)).catch((error) => this.#fail(error));
    });
  }

  /** Closes the connection, telling the server first when it still listens. */
  close() {
    if (this.#closed) return;
    this.#write(message("X")).catch(() => {}).finally(() => {
      this.#fail(new PgConnectionError("CONNECTION_LOST", "The database connection was closed"));
    });
  }

  #write(bytes: Uint8Array): Promise<void> {
    const write = this.#writing.then(async () => {
      for (let at = 0; at < bytes.length;) at += await this.#conn.write(bytes.subarray(at));
    });
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
    if (firstFailure) {
      try {
        this.#conn.close();
      } catch {
        // already closed
      }
    }
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

async function startTls(conn: Deno.TcpConn, settings: ConnectionSettings): Promise<Deno.Conn> {
  await conn.write(message(null, SSL_REQUEST_CODE));
  const answer = new Uint8Array(1);
  if ((await conn.read(answer)) !== 1) {
    throw new PgConnectionError("CONNECT_FAILED", "The database closed the connection");
  }
  if (answer[0] !== "S".charCodeAt(0)) {
    throw new PgConnectionError(
      "CONNECT_FAILED",
      `The database does not accept TLS, which sslmode "${settings.sslmode}" requires`,
    );
  }
  const caCerts = settings.sslrootcert === undefined
    ? undefined
    : [await Deno.readTextFile(settings.sslrootcert)];
  return await Deno.startTls(conn, {
    hostname: settings.hostname,
    ...(caCerts && { caCerts }),
  });
}

// ---- pool ---------------------------------------------------------------------------------------

/** Options for {@link createPool}. */
export interface PoolOptions {
  /** Most connections open at once. */
  max?: number;
  /** Milliseconds an unused connection stays open. */
  idleTimeoutMs?: number;
  /** Milliseconds to connect and authenticate. */
  connectTimeoutMs?: number;
  /**
   * Milliseconds a query may wait for its answer; past that its connection is closed and what
   * was in flight on it fails with `QUERY_TIMEOUT`. No limit when undefined.
   */
  queryTimeoutMs?: number;
  /** Called with the text of each query sent. */
  onQuery?: (text: string) => void;
}

/** Statements inside one transaction, on one connection. */
export interface Transaction {
  /** Runs SQL text; the first call carries the BEGIN. Results are the text's own statements'. */
  query(text: string): Promise<QueryResult[]>;
  /** Runs SQL text and commits with it, in one round trip. */
  commit(text?: string): Promise<QueryResult[]>;
}

/** A pool of connections to one database. */
export interface Pool {
  /** Runs SQL text on a free connection (several statements run as one implicit transaction). */
  query(text: string): Promise<QueryResult[]>;
  /**
   * Runs `work` in a transaction on one connection: it commits when `work` calls `commit` or
   * returns, and rolls back when `work` throws.
   */
  transaction<T>(work: (tx: Transaction) => Promise<T>): Promise<T>;
  /** Closes every connection; what is still running gets `timeoutMs` to finish. */
  end(options?: { timeoutMs?: number }): Promise<void>;
}

/** Opens no connection until the first query; then keeps up to `max` open for reuse. */
export function createPool(url: string, options: PoolOptions = {}): Pool {
  const settings = parseDatabaseUrl(url);
  const max = options.max ?? 10;
  const idleTimeoutMs = options.idleTimeoutMs ?? 30_000;
  const openOptions = { connectTimeoutMs: options.connectTimeoutMs ?? 10_000 };
  const idle: { connection: Connection; timer: ReturnType<typeof setTimeout> }[] = [];
  const waiters: { resolve(connection: Connection): void; reject(error: Error): void }[] = [];
  const busy = new Set<Connection>();
  let opening = 0;
  let ended = false;
  let drained: (() => void) | undefined;

  function poolEnded() {
    return new PgConnectionError("POOL_ENDED", "The database pool was ended");
  }

  async function open(): Promise<Connection> {
    opening += 1;
    try {
      const connection = await Connection.open(settings, openOptions);
      if (ended) {
        connection.close();
        throw poolEnded();
      }
      busy.add(connection);
      return connection;
    } catch (error) {
      // The slot is free again: someone waiting gets to try a connection of their own.
      queueMicrotask(serveWaiters);
      throw error;
    } finally {
      opening -= 1;
    }
  }

  /** Opens connections for waiters while there is room. */
  function serveWaiters() {
    while (waiters.length > 0 && busy.size + opening < max && !ended) {
      const waiter = waiters.shift();
      if (waiter) open().then(waiter.resolve, waiter.reject);
    }
  }

  function acquire(): Promise<Connection> {
    if (ended) return Promise.reject(poolEnded());
    while (idle.length > 0) {
      const entry = idle.pop();
      if (!entry) break;
      clearTimeout(entry.timer);
      if (entry.connection.closed) continue;
      entry.connection.ref(true);
      busy.add(entry.connection);
      return Promise.resolve(entry.connection);
    }
    if (busy.size + opening < max) return open();
    return new Promise((resolve, reject) => waiters.push({ resolve, reject }));
  }

  function release(connection: Connection) {
    busy.delete(connection);
    const reusable = !connection.closed && connection.status === "I" && connection.idle &&
      !ended;
    if (!reusable) connection.close();
    const waiter = reusable ? waiters.shift() : undefined;
    if (waiter) {
      busy.add(connection);
      waiter.resolve(connection);
    } else if (reusable) {
      connection.ref(false);
      const timer = setTimeout(() => {
        const index = idle.findIndex((entry) => entry.connection === connection);
        if (index >= 0) idle.splice(index, 1);
        connection.close();
      }, idleTimeoutMs);
      Deno.unrefTimer(timer);
      idle.push({ connection, timer });
    } else {
      serveWaiters();
    }
    if (ended && busy.size === 0) drained?.();
  }

  function send(connection: Connection, text: string): Promise<QueryResult[]> {
    options.onQuery?.(text);
    return connection.query(text, options.queryTimeoutMs);
  }

  return {
    async query(text) {
      const connection = await acquire();
      try {
        return await send(connection, text);
      } finally {
        release(connection);
      }
    },

    async transaction(work) {
      const connection = await acquire();
      let state = "new" as "new" | "open" | "done";
      const sent: Promise<unknown>[] = [];
      // After a statement failed, PostgreSQL answers COMMIT by rolling back, without an error.
      const committed = (results: QueryResult[]) => {
        if (results.at(-1)?.command !== "COMMIT") {
          throw new PgError(
            new Map([["C", "25P02"], ["M", "The transaction failed and was rolled back"]]),
          );
        }
        return results;
      };
      const tx: Transaction = {
        async query(text) {
          if (state === "done") throw new Error("The transaction is already over");
          const first = state === "new";
          state = "open";
          const answer = send(connection, first ? `begin;\n${text}` : text);
          sent.push(answer.catch(() => {}));
          return first ? (await answer).slice(1) : await answer;
        },
        async commit(text = "") {
          if (state === "done") throw new Error("The transaction is already over");
          const begun = state === "open";
          state = "done";
          if (!begun) return text === "" ? [] : await send(connection, text);
          const results = committed(await send(connection, `${text}\n;commit`));
          return text === "" ? [] : results.slice(0, -1);
        },
      };
      try {
        const result = await work(tx);
        if (state === "open") {
          state = "done";
          committed(await send(connection, "commit"));
        }
        return result;
      } catch (error) {
        // Statements still in flight decide the transaction's state; wait for their answers.
        await Promise.all(sent);
        if (!connection.closed && connection.status !== "I") {
          await send(connection, "rollback").catch(() => connection.close());
        }
        throw error;
      } finally {
        state = "done";
        release(connection);
      }
    },

    async end({ timeoutMs = 5_000 } = {}) {
      ended = true;
      for (const waiter of waiters.splice(0)) waiter.reject(poolEnded());
      for (const entry of idle.splice(0)) {
        clearTimeout(entry.timer);
        entry.connection.close();
      }
      if (busy.size > 0) {
        let timer: ReturnType<typeof setTimeout> | undefined;
        await Promise.race([
          new Promise<void>((resolve) => (drained = resolve)),
          new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs))),
        ]);
        clearTimeout(timer);
        for (const connection of busy) connection.close();
        busy.clear();
      }
    },
  };
}
