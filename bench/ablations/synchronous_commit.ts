/**
 * `synchronous_commit = off`: commits answer before their WAL reaches the disk. Set here for the
 * functions' connections only, through the URL's startup `options`.
 */
import { connectDatabase } from "../../supabase/functions/_shared/db.ts";
import { rowsOf } from "../../supabase/functions/_shared/db.ts";
import { statement } from "../../supabase/functions/_shared/pg/mod.ts";
import type { BenchEnvironment } from "../environment.ts";
import type { Row } from "../tables.ts";
import { CHECKOUT_FIRST, compareVariants, webhookRate } from "./variants.ts";

/** The database URL with `synchronous_commit = off` for its sessions. */
function withoutSynchronousCommit(databaseUrl: string): string {
  const url = new URL(databaseUrl);
  url.searchParams.set("options", "-c synchronous_commit=off");
  return url.href;
}

/** Checks that the server took the setting, so that the figures are about it. */
async function assertSetting(databaseUrl: string): Promise<void> {
  const db = connectDatabase(databaseUrl);
  try {
    const [row] = rowsOf<{ synchronous_commit: string }>(
      await db.query(statement`show synchronous_commit`),
    );
    if (row?.synchronous_commit !== "off") {
      throw new Error(`synchronous_commit is "${row?.synchronous_commit}" through the options`);
    }
  } finally {
    await db.end();
  }
}

/** Checkout and webhook figures with and without it; PGlite has no WAL flush to skip. */
export async function measureSynchronousCommit(env: BenchEnvironment): Promise<Row[]> {
  if (!env.onServer) return [];
  const url = withoutSynchronousCommit(env.databaseUrl);
  await assertSetting(url);
  return compareVariants(
    env,
    "synchronous_commit = off",
    [CHECKOUT_FIRST, webhookRate(1, 30), webhookRate(16, 160)],
    { without: {}, with: { env: { SUPABASE_DB_URL: url } } },
  );
}
