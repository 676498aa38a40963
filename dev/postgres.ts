/**
 * The Postgres client of the tooling (local server, migrations, tests, benchmarks): postgres.js,
 * for its tagged templates and parameters. The functions use their own client in
 * `supabase/functions/_shared/pg/`; tests that read back through this one check that one
 * against a widely used driver.
 */
import postgres from "npm:postgres@3.4.9";

export type Sql = postgres.Sql;
export type TransactionSql = postgres.TransactionSql;

/** Options for {@link connect}. */
export interface ConnectOptions {
  /** Most connections the pool opens. */
  max?: number;
}

/** Opens a postgres.js pool without prepared statements, as Supabase's pooler requires. */
export function connect(url: string, options: ConnectOptions = {}): Sql {
  return postgres(url, {
    prepare: false,
    max: options.max ?? 10,
    idle_timeout: 30,
    connect_timeout: 10,
    onnotice: () => {},
  });
}
