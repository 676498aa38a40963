/** The client's two error types: the server's own errors, and connections that failed. */

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
