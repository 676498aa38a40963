/**
 * The functions' own PostgreSQL client on Deno's sockets: the simple query protocol only (SQL
 * text in, rows of text out), a pool, and transactions whose BEGIN and COMMIT travel with their
 * first and last statements. The functions need nothing more, and this is what they gain over a
 * general driver: no Node compatibility layer to load at start, two round trips for a transaction
 * with a read in the middle, and a connection lost at any point fails its statements at once and
 * leaves the pool instead of wedging it. One concern a file: `url.ts`, `messages.ts`, `values.ts`,
 * `scram.ts`, `tls.ts` (with `supabase_ca.ts`), `connection.ts`, `pool.ts`, `sql.ts`.
 */
export { PgConnectionError, type PgConnectionErrorCode, PgError } from "./errors.ts";
export type { QueryResult } from "./connection.ts";
export { createPool, type Pool, type PoolOptions, type Transaction } from "./pool.ts";
export { literal, type SqlText, type SqlValue, statement } from "./sql.ts";
export { type ConnectionSettings, parseDatabaseUrl, type SslMode } from "./url.ts";
