/**
 * A local stand-in for Supabase's REST API (PostgREST) under `/rest/v1`, for the two tables a
 * frontend of this project reads: `profiles` and `billing_plans`, GET (and HEAD) only. Every read
 * runs in its own transaction as the caller's role, `authenticated` for a user's token (verified
 * by the functions' own verifier) or `anon` for the publishable key alone, with the token's
 * claims in `request.jwt.claims`: row-level security decides what comes back, never the
 * superuser the server connects as.
 */
import { decodeJwt, type JWTPayload } from "npm:jose@6.2.18";
import type { Authenticate } from "../../supabase/functions/_shared/auth.ts";
import { HttpError } from "../../supabase/functions/_shared/http.ts";
import type { Sql } from "../postgres.ts";
import { API_CORS_HEADERS, apiPreflight, checkApiKey } from "../gateway.ts";
import { RestError, restErrorResponse } from "./errors.ts";
import { type Column, parseReadQuery, toStatement } from "./query.ts";

/** The tables the stand-in serves. */
export const REST_TABLES = ["profiles", "billing_plans"] as const;

/** What the local REST API runs on. */
export interface LocalRestDeps {
  /** A connection that may `set role` (the local superuser). */
  sql: Sql;
  /** The functions' token verifier, over the local issuer's keys. */
  authenticate: Authenticate;
  publishableKey: string;
  /** Where our own failures are described. */
  log: (line: string) => void;
}

type Role = "anon" | "authenticated";

/** The one row a read's statement returns. */
interface ReadResult {
  body: string;
  found: number;
  total: string | null;
}

interface Caller {
  role: Role;
  claims: JWTPayload;
}

const OBJECT_MEDIA_TYPE = "application/vnd.pgrst.object+json";
const ARRAY_MEDIA_TYPES = new Set([
  "application/json",
  "application/vnd.pgrst.array+json",
  "*/*",
  "application/*",
]);

interface Representation {
  single: boolean;
  stripNulls: boolean;
}

/** What the `Accept` header asks for: one object, or an array; PostgREST's 406 otherwise. */
function representationOf(accept: string | null): Representation {
  if (accept === null || accept.trim() === "") return { single: false, stripNulls: false };
  const offered: string[] = [];
  for (const entry of accept.split(",")) {
    const [type = "", ...parameters] = entry.split(";").map((part) => part.trim().toLowerCase());
    offered.push(type);
    const stripNulls = parameters.includes("nulls=stripped");
    if (type === OBJECT_MEDIA_TYPE) return { single: true, stripNulls };
    if (ARRAY_MEDIA_TYPES.has(type)) return { single: false, stripNulls };
  }
  throw new RestError(
    406,
    "PGRST107",
    `None of these media types are available: ${offered.join(", ")}`,
  );
}

function withoutNulls(row: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(row).filter(([, value]) => value !== null));
}

/** SQLSTATEs of the caller's request, with PostgREST's statuses. */
function statusOfDatabaseError(code: string, role: Role): number | undefined {
  if (code === "42501") return role === "anon" ? 401 : 403;
  if (code.startsWith("22") || code === "42703" || code === "42883") return 400;
  return undefined;
}

function databaseErrorOf(error: unknown): { code: string; message: string } | undefined {
  if (!(error instanceof Error) || !("code" in error) || typeof error.code !== "string") {
    return undefined;
  }
  return /^[0-9A-Z]{5}$/.test(error.code)
    ? { code: error.code, message: error.message }
    : undefined;
}

/** Creates the `/rest/v1` routes; answers undefined for a path it does not serve. */
export function createLocalRest(deps: LocalRestDeps) {
  const columnsOf = new Map<string, Promise<Map<string, Column>>>();

  /** The table's columns as the catalog lists them, read once. */
  function columns(table: string): Promise<Map<string, Column>> {
    let found = columnsOf.get(table);
    if (found === undefined) {
      found = deps.sql<Column[]>`
        select a.attname as name, pg_catalog.format_type(a.atttypid, a.atttypmod) as type
        from pg_catalog.pg_attribute a
        where a.attrelid = to_regclass(${`public.${table}`}) and a.attnum > 0
          and not a.attisdropped
        order by a.attnum`.then((rows) => new Map(rows.map((row) => [row.name, row])));
      found.catch(() => columnsOf.delete(table));
      columnsOf.set(table, found);
    }
    return found;
  }

  /** The caller's role and claims: a user's verified token, or anon with the key alone. */
  async function callerOf(request: Request): Promise<Caller> {
    const header = request.headers.get("authorization");
    const bearer = header === null ? null : /^Bearer\s+(\S+)\s*$/i.exec(header)?.[1] ?? "";
    if (bearer === null || bearer === deps.publishableKey) {
      return { role: "anon", claims: { role: "anon" } };
    }
    try {
      await deps.authenticate(request);
    } catch (error) {
      if (!(error instanceof HttpError)) throw error;
      const expired = (() => {
        try {
          const { exp } = decodeJwt(bearer);
          return typeof exp === "number" && exp <= Date.now() / 1000;
        } catch {
          return false;
        }
      })();
      throw expired
        ? new RestError(401, "PGRST303", "JWT expired")
        : new RestError(401, "PGRST301", `JWT could not be verified: ${error.message}`);
    }
    return { role: "authenticated", claims: decodeJwt(bearer) };
  }

  async function read(request: Request, table: string): Promise<Response> {
    const profile = request.headers.get("accept-profile");
    if (profile !== null && profile !== "public") {
      throw new RestError(
        406,
        "PGRST106",
        `Invalid schema: ${profile}`,
        null,
        "Only the following schemas are exposed: public",
      );
    }
    const representation = representationOf(request.headers.get("accept"));
    const caller = await callerOf(request);
    const url = new URL(request.url);
    const query = parseReadQuery(table, await columns(table), url.searchParams);
    const withTotal = /count=(exact|planned|estimated)/.test(request.headers.get("prefer") ?? "");
    const statement = toStatement(query, withTotal);
    let result: ReadResult | undefined;
    try {
      result = await deps.sql.begin(async (tx) => {
        // The role comes from the fixed set above; the claims travel as a parameter.
        await tx.unsafe(`set local role ${caller.role}`);
        await tx`select set_config('request.jwt.claims', ${JSON.stringify(caller.claims)}, true),
                        set_config('statement_timeout', '10s', true)`;
        const [row] = await tx.unsafe<ReadResult[]>(statement.text, statement.params);
        return row;
      });
    } catch (error) {
      const failure = databaseErrorOf(error);
      const status = failure && statusOfDatabaseError(failure.code, caller.role);
      if (failure === undefined || status === undefined) throw error;
      throw new RestError(status, failure.code, failure.message);
    }
    if (result === undefined) throw new Error("The read returned no row");
    let rows = JSON.parse(result.body) as Record<string, unknown>[];
    if (representation.stripNulls) rows = rows.map(withoutNulls);
    if (representation.single && rows.length !== 1) {
      throw new RestError(
        406,
        "PGRST116",
        "Cannot coerce the result to a single JSON object",
        `The result contains ${rows.length} rows`,
      );
    }
    const first = query.offset ?? 0;
    const total = result.total ?? "*";
    const headers = {
      ...API_CORS_HEADERS,
      "Content-Type": `${
        representation.single ? OBJECT_MEDIA_TYPE : "application/json"
      }; charset=utf-8`,
      "Content-Range": rows.length > 0
        ? `${first}-${first + rows.length - 1}/${total}`
        : `*/${total}`,
    };
    const body = request.method === "HEAD"
      ? null
      : JSON.stringify(representation.single ? rows[0] : rows);
    return new Response(body, { status: 200, headers });
  }

  return async (request: Request, path: string): Promise<Response | undefined> => {
    const match = /^\/rest\/v1\/([^/]*)$/.exec(path);
    if (match === null) return undefined;
    if (request.method === "OPTIONS") return apiPreflight();
    const refused = checkApiKey(request, deps.publishableKey);
    if (refused !== undefined) return refused;
    const table = decodeURIComponent(match[1] ?? "");
    try {
      if (!(REST_TABLES as readonly string[]).includes(table)) {
        throw new RestError(
          404,
          "PGRST205",
          `Could not find the table 'public.${table}' in the schema cache`,
          null,
          `The local REST stand-in serves ${
            REST_TABLES.map((name) => `'public.${name}'`).join(" and ")
          }`,
        );
      }
      if (request.method !== "GET" && request.method !== "HEAD") {
        throw new RestError(
          405,
          "PGRST117",
          `Unsupported HTTP method: ${request.method}`,
          null,
          "The local REST stand-in serves reads only; the functions write billing data",
        );
      }
      return await read(request, table);
    } catch (error) {
      if (error instanceof RestError) return restErrorResponse(error);
      deps.log(
        `rest: a read of "${table}" failed: ${error instanceof Error ? error.message : error}`,
      );
      return restErrorResponse(
        new RestError(500, "PGRST000", "The local REST stand-in failed; see the server's log"),
      );
    }
  };
}
