/**
 * `deno task sync [--check]`: whole sync passes from a terminal, with the same code and the same
 * variables as the `stripe-sync` function (environment, then `supabase/functions/.env`). Without
 * `STRIPE_SECRET_KEY` and `SUPABASE_DB_URL` it works on the emulator and database of a running
 * `deno task dev`. Exit codes: 0 done; with `--check`, 1 when anything is out of sync; 2 failed.
 */
import { ConfigError, loadConfig } from "../supabase/functions/_shared/config.ts";
import { connectDatabase } from "../supabase/functions/_shared/db.ts";
import { createLogger, redact } from "../supabase/functions/_shared/log.ts";
import { planSettings } from "../supabase/functions/_shared/plans.ts";
import { createStripe } from "../supabase/functions/_shared/stripe.ts";
import type { SyncCursor } from "../supabase/functions/stripe-sync/cursor.ts";
import {
  addReport,
  emptyReport,
  runSync,
  SyncBusyError,
  type SyncProgress,
  type SyncReport,
} from "../supabase/functions/stripe-sync/pass.ts";
import { readDevEnv } from "../dev/env.ts";
import { LOCAL_PORTS, LOCAL_STRIPE_SECRET_KEY, useLocalPlans } from "../dev/local.ts";

const USAGE = `Usage: deno task sync [--check]

Runs a whole sync pass: replays missed Stripe events and repairs profiles that differ from Stripe.
  --check   report only; change nothing (exit 1 when anything is out of sync)`;

/** Most calls one pass may take here; each reads at most 10 pages of Stripe lists. */
const MAX_CALLS = 10_000;

function fail(message: string): never {
  console.error(`error: ${message}`);
  Deno.exit(2);
}

/** The variables, with `deno task dev`'s local services for Stripe and the database when unset. */
async function environment(): Promise<
  { get: (name: string) => string | undefined; notes: string[] }
> {
  const env = await readDevEnv();
  const notes: string[] = [];
  const get = (name: string) => env.get(name) || undefined;
  if (get("STRIPE_SECRET_KEY") === undefined) {
    const port = get("STRIPE_EMULATOR_PORT") ?? String(LOCAL_PORTS.stripe);
    env.set("STRIPE_SECRET_KEY", LOCAL_STRIPE_SECRET_KEY);
    env.set("STRIPE_API_URL", get("STRIPE_API_URL") ?? `http://127.0.0.1:${port}`);
    // The plans `deno task dev` offers from the emulator's catalog.
    useLocalPlans(env);
    notes.push(`Stripe: the local emulator at ${get("STRIPE_API_URL")} (no STRIPE_SECRET_KEY)`);
  }
  if (get("SUPABASE_DB_URL") === undefined) {
    const port = get("DB_PORT") ?? String(LOCAL_PORTS.db);
    env.set("SUPABASE_DB_URL", `postgres://postgres@127.0.0.1:${port}/postgres`);
    notes.push(`database: deno task dev's embedded database on port ${port} (no SUPABASE_DB_URL)`);
  }
  return { get, notes };
}

/** Writes progress on one line that is rewritten in place on a terminal. */
function progressWriter(): { show(text: string): void; end(): void } {
  const encoder = new TextEncoder();
  const live = Deno.stderr.isTerminal();
  let shown = false;
  return {
    show(text) {
      if (!live) return;
      Deno.stderr.writeSync(encoder.encode(`\r\x1b[K${text}`));
      shown = true;
    },
    end() {
      if (shown) Deno.stderr.writeSync(encoder.encode("\r\x1b[K"));
    },
  };
}

function table(rows: string[][]): string {
  const widths =
    rows[0]?.map((_, column) => Math.max(...rows.map((row) => (row[column] ?? "").length))) ?? [];
  return rows.map((row) => row.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join("  ").trimEnd())
    .join("\n");
}

function describe(total: SyncReport, check: boolean, calls: number, seconds: number): string {
  const number = (value: number) => value.toLocaleString("en-US");
  const lines = [
    `${check ? "Check" : "Sync"} pass finished in ${calls} call${calls === 1 ? "" : "s"} (${
      seconds.toFixed(1)
    } s)`,
    "",
    table([
      ["events missing from the ledger", number(total.eventsMissing)],
      ["events replayed", number(total.eventsReplayed)],
      ["subscriptions checked", number(total.subscriptionsChecked)],
      ["profiles out of sync", number(total.profilesOutOfSync)],
      ["profiles repaired", number(total.profilesRepaired)],
      ["subscriptions or events of no known user", number(total.unmatched)],
      ["user tasks done", number(total.tasksDone)],
      ["user tasks failed", number(total.tasksFailed)],
    ].map((row) => ["  " + row[0], row[1] ?? ""])),
  ];
  if (total.drift.length > 0) {
    lines.push(
      "",
      `Differences${total.drift.length === 100 ? " (the first 100)" : ""}:`,
      table([
        ["  user", "subscription", "column", "database", "Stripe"],
        ...total.drift.map((d) => [
          `  ${d.userId}`,
          d.subscriptionId,
          d.field,
          String(d.database),
          String(d.stripe),
        ]),
      ]),
    );
  }
  if (check && (total.profilesOutOfSync > 0 || total.eventsMissing > 0)) {
    lines.push("", "Run `deno task sync` to replay the missing events and repair these profiles.");
  }
  return lines.join("\n");
}

async function main(): Promise<number> {
  const args = [...Deno.args];
  if (args.includes("--help") || args.includes("-h")) {
    console.log(USAGE);
    return 0;
  }
  const unknown = args.find((arg) => arg !== "--check");
  if (unknown !== undefined) fail(`unknown argument "${unknown}"\n\n${USAGE}`);
  const check = args.includes("--check");

  const { get, notes } = await environment();
  let config;
  try {
    config = loadConfig(
      [
        "stripeSecretKey",
        "stripeApi",
        "databaseUrl",
        "stripePriceId",
        "stripePriceIds",
        "trialDays",
      ],
      get,
    );
  } catch (error) {
    if (error instanceof ConfigError) fail(error.message);
    throw error;
  }
  for (const note of notes) console.error(note);

  const db = connectDatabase(config.databaseUrl, { max: 2 });
  const stripe = createStripe({ secretKey: config.stripeSecretKey, api: config.stripeApi });
  // The pass's per-event and per-profile lines go to stderr with the progress line, so that the
  // report on stdout stays readable.
  const logger = createLogger((line) => console.error(line));
  const progress = progressWriter();
  const total = emptyReport();
  const started = performance.now();
  let pages = 0;
  let cursor: SyncCursor | undefined;
  let calls = 0;
  try {
    while (!total.done && calls < MAX_CALLS) {
      calls++;
      const before = { pages, subscriptions: total.subscriptionsChecked };
      let callPages = 0;
      const result = await runSync({ stripe, db, plans: planSettings(config), logger }, {
        check,
        ...(cursor && { cursor }),
        onProgress(p: SyncProgress) {
          callPages = p.pages;
          progress.show(
            `${p.step.padEnd(9)}  pages ${before.pages + p.pages}  subscriptions ${
              before.subscriptions + p.subscriptions
            }  events ${p.events}`,
          );
        },
      });
      addReport(total, result.report);
      cursor = result.cursor;
      pages += callPages;
    }
  } catch (error) {
    progress.end();
    if (error instanceof SyncBusyError) {
      fail("another sync pass is running (its lease ends at most 5 minutes after its last call)");
    }
    fail(`the pass failed: ${redact(error instanceof Error ? error.message : String(error))}`);
  } finally {
    await db.end({ timeoutMs: 1000 });
  }
  progress.end();
  if (!total.done) fail(`the pass did not finish within ${MAX_CALLS} calls`);
  console.log(describe(total, check, calls, (performance.now() - started) / 1000));
  return check && (total.profilesOutOfSync > 0 || total.eventsMissing > 0) ? 1 : 0;
}

Deno.exit(await main());
