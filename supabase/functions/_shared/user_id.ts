/** User ids: the one check that a value is a Supabase Auth user id before it reaches SQL. */

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * A user id (a token's subject, a `userId` in metadata) in lowercase, or null when absent or not
 * a UUID, so that nothing else can reach SQL as one.
 */
export function toUserId(value: string | null | undefined): string | null {
  return typeof value === "string" && UUID.test(value) ? value.toLowerCase() : null;
}
