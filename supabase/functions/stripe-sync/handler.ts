/**
 * stripe-sync: replays missed events and repairs profiles that drifted from Stripe, a bounded
 * share of a pass per call. The caller proves itself with `BILLING_SYNC_SECRET`.
 */
import { loadConfig } from "../_shared/config.ts";
import { connectDatabase } from "../_shared/db.ts";
import { HttpError, jsonResponse, readBodyText } from "../_shared/http.ts";
import { planSettings } from "../_shared/plans.ts";
import type { EdgeFunction, Route } from "../_shared/serve.ts";
import { createStripe } from "../_shared/stripe.ts";
import { decodeCursor, encodeCursor, type SyncCursor } from "./cursor.ts";
import { runSync, SyncBusyError, type SyncDeps, type SyncOptions } from "./pass.ts";

/** What the sync handler runs on. */
export interface SyncFunctionDeps extends SyncDeps {
  syncSecret: string;
  /** Overrides of the pass's bounds (tests). */
  limits?: Pick<SyncOptions, "maxPages" | "pageSize" | "timeBudgetMs">;
}

const BEARER = /^Bearer[ \t]+([^\s]+)[ \t]*$/i;
const MAX_BODY_BYTES = 4096;
const encoder = new TextEncoder();

async function digest(text: string): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", encoder.encode(text)));
}

/** Compares two secrets in time that does not depend on where they differ. */
async function sameSecret(given: string, expected: string): Promise<boolean> {
  const [a, b] = await Promise.all([digest(given), digest(expected)]);
  let difference = 0;
  for (let i = 0; i < a.length; i++) difference |= (a[i] ?? 0) ^ (b[i] ?? 0);
  return difference === 0;
}

async function assertCaller(request: Request, secret: string): Promise<void> {
  const header = request.headers.get("authorization");
  if (header === null || header.trim() === "") {
    throw new HttpError(401, "Missing authorization header");
  }
  const given = BEARER.exec(header)?.[1];
  if (given === undefined || !(await sameSecret(given, secret))) {
    throw new HttpError(401, "Invalid sync secret");
  }
}

/**
 * The call's options: no body (or `{}`) runs a pass; `{"check": true}` reports only, with the
 * `cursor` of the previous check call to resume. Anything else is refused before any work, so
 * that a mistyped check never runs a writing pass.
 */
async function readOptions(request: Request): Promise<{ check: boolean; cursor?: SyncCursor }> {
  const text = await readBodyText(request, MAX_BODY_BYTES);
  if (text.trim() === "") return { check: false };
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new HttpError(400, "Expected a JSON object");
  }
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw new HttpError(400, "Expected a JSON object");
  }
  const { check = false, cursor, ...rest } = body as Record<string, unknown>;
  const unknown = Object.keys(rest)[0];
  if (unknown !== undefined) throw new HttpError(400, `Unknown option "${unknown.slice(0, 40)}"`);
  if (typeof check !== "boolean") throw new HttpError(400, `Expected "check" to be a boolean`);
  if (cursor === undefined || cursor === null) return { check };
  if (!check) throw new HttpError(400, `A "cursor" goes with "check": true`);
  if (typeof cursor !== "string") throw new HttpError(400, "Invalid cursor");
  try {
    return { check, cursor: decodeCursor(cursor) };
  } catch {
    throw new HttpError(400, "Invalid cursor");
  }
}

/** Creates the `stripe-sync` route. */
export function createSyncRoute(deps: SyncFunctionDeps): Route {
  return async (request, context) => {
    await assertCaller(request, deps.syncSecret);
    const options = await readOptions(request);
    context.log.check = options.check;
    let result;
    try {
      result = await runSync(deps, { ...options, ...deps.limits });
    } catch (error) {
      if (error instanceof SyncBusyError) throw new HttpError(409, "Sync already running");
      throw error;
    }
    const { report } = result;
    Object.assign(context.log, {
      done: report.done,
      eventsReplayed: report.eventsReplayed,
      subscriptionsChecked: report.subscriptionsChecked,
      profilesOutOfSync: report.profilesOutOfSync,
      profilesRepaired: report.profilesRepaired,
    });
    return jsonResponse(
      result.cursor === undefined ? report : { ...report, cursor: encodeCursor(result.cursor) },
    );
  };
}

/** The `stripe-sync` function. */
export const syncFunction: EdgeFunction<SyncFunctionDeps> = {
  name: "stripe-sync",
  failureMessage: "Sync failed",
  route: createSyncRoute,
  depsFromEnv(env, logger) {
    const config = loadConfig(
      [
        "billingSyncSecret",
        "stripeSecretKey",
        "stripeApi",
        "databaseUrl",
        "stripePriceId",
        "stripePriceIds",
        "trialDays",
      ],
      env,
    );
    return {
      syncSecret: config.billingSyncSecret,
      stripe: createStripe({ secretKey: config.stripeSecretKey, api: config.stripeApi }),
      db: connectDatabase(config.databaseUrl),
      plans: planSettings(config),
      logger,
    };
  },
};
