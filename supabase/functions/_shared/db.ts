/** Postgres access: the only module that imports the Postgres driver. */
import postgres from "npm:postgres@3.4.9";

export type Sql = postgres.Sql;
export type TransactionSql = postgres.TransactionSql;

/** Options for {@link connect}. */
export interface ConnectOptions {
  /** Most connections the pool opens. */
  max?: number;
}

/**
 * Opens a connection pool. `prepare: false` keeps it usable through Supabase's transaction
 * pooler, which cannot hold named prepared statements across transactions.
 */
export function connect(url: string, options: ConnectOptions = {}): Sql {
  return postgres(url, {
    prepare: false,
    max: options.max ?? 10,
    idle_timeout: 30,
    connect_timeout: 10,
    onnotice: () => {},
  });
}
