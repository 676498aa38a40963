/** Queries as the API's roles, the way PostgREST runs them: a role and JWT claims per transaction. */
import type { Sql, TransactionSql } from "../../dev/postgres.ts";

/** Who calls: anonymous, or a signed-in user. */
export type Caller = { role: "anon" } | { role: "authenticated"; userId: string };

class Rollback extends Error {}

/** Runs `fn` in a transaction as PostgREST would for `caller`, then rolls it back. */
export async function asCaller<T>(
  sql: Sql,
  caller: Caller,
  fn: (tx: TransactionSql) => Promise<T>,
): Promise<T> {
  const claims = caller.role === "anon"
    ? { role: "anon" }
    : { sub: caller.userId, role: "authenticated" };
  let result: T | undefined;
  await sql.begin(async (tx) => {
    await tx.unsafe(`set local role ${caller.role}`);
    await tx`select set_config('request.jwt.claims', ${JSON.stringify(claims)}, true)`;
    result = await fn(tx);
    throw new Rollback();
  }).catch((error) => {
    if (!(error instanceof Rollback)) throw error;
  });
  return result as T;
}
