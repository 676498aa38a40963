/** Local users in `auth.users`, and the user object Supabase Auth answers with. */
import type { Sql } from "../postgres.ts";

/** A local user as Supabase Auth describes it to clients. */
export interface AuthUser {
  id: string;
  aud: string;
  role: string;
  email: string;
  email_confirmed_at: string | null;
  phone: string;
  confirmed_at: string | null;
  last_sign_in_at: string | null;
  app_metadata: Record<string, unknown>;
  user_metadata: Record<string, unknown>;
  identities: unknown[];
  created_at: string;
  updated_at: string;
  is_anonymous: boolean;
}

interface UserRow {
  id: string;
  email: string | null;
  email_confirmed_at: Date | null;
  last_sign_in_at: Date | null;
  raw_app_meta_data: Record<string, unknown> | null;
  raw_user_meta_data: Record<string, unknown> | null;
  created_at: Date | null;
  updated_at: Date | null;
}

const EMAIL = /^[^\s@]+@[^\s@]+$/;

/** The email as Supabase Auth keeps it (lower case), or null when it is not an address. */
export function normalizeEmail(value: unknown): string | null {
  if (typeof value !== "string") return null;
  const email = value.trim().toLowerCase();
  return email.length <= 255 && EMAIL.test(email) ? email : null;
}

function iso(value: Date | null): string | null {
  return value === null ? null : value.toISOString();
}

function toAuthUser(row: UserRow): AuthUser {
  const created = iso(row.created_at) ?? new Date(0).toISOString();
  return {
    id: row.id,
    aud: "authenticated",
    role: "authenticated",
    email: row.email ?? "",
    email_confirmed_at: iso(row.email_confirmed_at),
    phone: "",
    confirmed_at: iso(row.email_confirmed_at),
    last_sign_in_at: iso(row.last_sign_in_at),
    app_metadata: row.raw_app_meta_data ?? { provider: "email", providers: ["email"] },
    user_metadata: row.raw_user_meta_data ?? {},
    identities: [],
    created_at: created,
    updated_at: iso(row.updated_at) ?? created,
    is_anonymous: false,
  };
}

/** The user with this id, or undefined when there is none (deleted, or never was). */
export async function findUser(sql: Sql, id: string): Promise<AuthUser | undefined> {
  const [row] = await sql<UserRow[]>`
    select id, email, email_confirmed_at, last_sign_in_at, raw_app_meta_data,
           raw_user_meta_data, created_at, updated_at
    from auth.users where id = ${id}`;
  return row === undefined ? undefined : toAuthUser(row);
}

/**
 * The user with this (normalized) email, created when new, as Supabase Auth signs up a user
 * with a confirmed email; the profile trigger of the migrations fires on the insert.
 */
export async function findOrCreateUser(
  sql: Sql,
  email: string,
): Promise<{ user: AuthUser; created: boolean }> {
  const appMetadata = { provider: "email", providers: ["email"] };
  // One statement, so that two first sign-ins of one email at once make one user.
  const [row] = await sql<(UserRow & { created: boolean })[]>`
    with existing as (
      select id, email, email_confirmed_at, last_sign_in_at, raw_app_meta_data,
             raw_user_meta_data, created_at, updated_at
      from auth.users where lower(email) = ${email} order by created_at limit 1
    ),
    inserted as (
      insert into auth.users (email, aud, role, email_confirmed_at, raw_app_meta_data,
                              raw_user_meta_data)
      select ${email}, 'authenticated', 'authenticated', now(), ${sql.json(appMetadata)}, '{}'
      where not exists (select 1 from existing)
      returning id, email, email_confirmed_at, last_sign_in_at, raw_app_meta_data,
                raw_user_meta_data, created_at, updated_at
    )
    select *, false as created from existing
    union all
    select *, true as created from inserted`;
  if (row === undefined) throw new Error(`Could not create the local user "${email}"`);
  return { user: toAuthUser(row), created: row.created };
}

/** Records a sign-in, as Supabase Auth does on every new session. */
export async function recordSignIn(sql: Sql, id: string): Promise<AuthUser | undefined> {
  const [row] = await sql<UserRow[]>`
    update auth.users
    set last_sign_in_at = now(), email_confirmed_at = coalesce(email_confirmed_at, now()),
        updated_at = now()
    where id = ${id}
    returning id, email, email_confirmed_at, last_sign_in_at, raw_app_meta_data,
              raw_user_meta_data, created_at, updated_at`;
  return row === undefined ? undefined : toAuthUser(row);
}
