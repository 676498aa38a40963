/**
 * `postgres://` URLs read as libpq reads them, for the parameters that make sense here: the
 * client's own options are handled by the client, a short list of server settings goes to the
 * server at startup, and anything else is a configuration error naming the parameter.
 */

/** libpq's sslmodes; see `tls.ts` for what each does here. */
export type SslMode = "disable" | "allow" | "prefer" | "require" | "verify-ca" | "verify-full";

/** Where and how to connect, read from a `postgres://` URL. */
export interface ConnectionSettings {
  hostname: string;
  port: number;
  user: string;
  password: string | undefined;
  database: string;
  sslmode: SslMode;
  /** Certificates to trust for TLS beside the system's: a PEM file's path, PEM text, or `system`. */
  sslrootcert: string | undefined;
  /** `connect_timeout` in milliseconds; undefined when the URL has none, 0 for no limit. */
  connectTimeoutMs: number | undefined;
  /** Sent to the server with the startup message (`application_name`, `options`, settings). */
  parameters: Record<string, string>;
}

const SSL_MODES: readonly SslMode[] = [
  "disable",
  "allow",
  "prefer",
  "require",
  "verify-ca",
  "verify-full",
];

/** Server settings a URL may set at startup, by their lower-case names. */
export const STARTUP_SETTINGS: readonly string[] = [
  "statement_timeout",
  "lock_timeout",
  "idle_in_transaction_session_timeout",
  "search_path",
  "timezone",
];

/** libpq options that make no sense for this client, and why. */
const UNSUPPORTED: Record<string, string> = {
  host: "put the host in the URL before the path",
  hostaddr: "put the host in the URL before the path",
  port: "put the port in the URL after the host",
  dbname: "put the database in the URL's path",
  user: "put the user in the URL before the host",
  password: "put the password in the URL before the host",
  passfile: "put the password in the URL",
  service: "write the connection's settings into the URL",
  target_session_attrs: "the client connects to one host",
  load_balance_hosts: "the client connects to one host",
  sslcert: "the client does not present a certificate of its own",
  sslkey: "the client does not present a certificate of its own",
  sslpassword: "the client does not present a certificate of its own",
  sslcertmode: "the client does not present a certificate of its own",
  sslcrl: "certificate revocation lists are not read",
  sslcrldir: "certificate revocation lists are not read",
  sslsni: "the client always sends the host name",
  sslcompression: "TLS compression is not offered",
  ssl_min_protocol_version: "the runtime's TLS settles the protocol version",
  ssl_max_protocol_version: "the runtime's TLS settles the protocol version",
  sslnegotiation: "the client negotiates TLS with an SSLRequest",
  gssencmode: "GSSAPI is not supported",
  krbsrvname: "GSSAPI is not supported",
  gsslib: "GSSAPI is not supported",
  gssdelegation: "GSSAPI is not supported",
  requirepeer: "Unix-domain sockets are not supported",
  require_auth: "the client accepts the methods the server asks for",
  keepalives: "the runtime's TCP settings apply",
  keepalives_idle: "the runtime's TCP settings apply",
  keepalives_interval: "the runtime's TCP settings apply",
  keepalives_count: "the runtime's TCP settings apply",
  tcp_user_timeout: "the runtime's TCP settings apply",
  replication: "replication connections are not supported",
};

/** Percent-decodes one part of the URL; a malformed escape is a TypeError naming no value. */
function decodeUrlPart(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    throw new TypeError("Invalid database URL: malformed percent-encoding");
  }
}

function readSslMode(value: string): SslMode {
  const mode = SSL_MODES.find((candidate) => candidate === value);
  if (mode === undefined) throw new TypeError(`Invalid sslmode "${value}"`);
  return mode;
}

/** libpq's connect_timeout: whole seconds, 0 (or less) for no limit, at least 2 otherwise. */
function readConnectTimeout(value: string): number {
  if (!/^-?\d+$/.test(value.trim())) {
    throw new TypeError(`Invalid connect_timeout "${value}": expected whole seconds`);
  }
  const seconds = Number(value);
  return seconds <= 0 ? 0 : Math.max(seconds, 2) * 1000;
}

/** The client always speaks UTF-8; a URL may say so, and nothing else. */
function checkClientEncoding(value: string) {
  const name = value.toLowerCase().replace(/[^a-z0-9]/g, "");
  if (name !== "utf8" && name !== "unicode") {
    throw new TypeError(`Invalid client_encoding "${value}": the client speaks UTF8 only`);
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
  let sslmode: SslMode | undefined;
  let sslrootcert: string | undefined;
  let connectTimeoutMs: number | undefined;
  let fallbackApplicationName: string | undefined;
  // Query values are read as URLSearchParams reads them ("+" is a space), as a URL built in
  // JavaScript writes them. Errors name the parameter, never its value, which may be a secret.
  for (const [key, value] of parsed.searchParams) {
    if (key === "sslmode") sslmode = readSslMode(value);
    else if (key === "sslrootcert") sslrootcert = value;
    else if (key === "connect_timeout") connectTimeoutMs = readConnectTimeout(value);
    else if (key === "client_encoding") checkClientEncoding(value);
    else if (key === "application_name" || key === "options") parameters[key] = value;
    else if (key === "fallback_application_name") fallbackApplicationName = value;
    else if (STARTUP_SETTINGS.includes(key.toLowerCase())) parameters[key] = value;
    else if (key === "channel_binding") {
      // SCRAM runs without channel binding, which libpq's default ("prefer") allows.
      if (value === "require") {
        throw new TypeError(
          `Unsupported database URL parameter "channel_binding": channel binding is not supported`,
        );
      }
    } else if (Object.hasOwn(UNSUPPORTED, key)) {
      throw new TypeError(`Unsupported database URL parameter "${key}": ${UNSUPPORTED[key]}`);
    } else {
      throw new TypeError(
        `Unsupported database URL parameter "${key}": the client takes sslmode, sslrootcert, ` +
          `connect_timeout, application_name, options, client_encoding and the settings ` +
          `${STARTUP_SETTINGS.join(", ")}`,
      );
    }
  }
  if (fallbackApplicationName !== undefined && parameters.application_name === undefined) {
    parameters.application_name = fallbackApplicationName;
  }
  return {
    hostname,
    port,
    user,
    password: parsed.password === "" ? undefined : decodeUrlPart(parsed.password),
    database: decodeUrlPart(parsed.pathname.slice(1)) || user,
    // As libpq: trusting the system's authorities alone means checking the host name too.
    sslmode: sslmode ?? (sslrootcert === "system" ? "verify-full" : "prefer"),
    sslrootcert,
    connectTimeoutMs,
    parameters,
  };
}
