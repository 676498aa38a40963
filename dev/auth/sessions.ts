/**
 * Sessions and their refresh tokens, kept in memory as Supabase Auth keeps them in its tables:
 * opaque random tokens, rotated on every use. A token used again within the reuse interval
 * (two tabs refreshing at once) gets the session's current token; used again later, it is
 * taken for a stolen one and ends the whole session.
 */

/** Seconds a rotated token may still be used, as Supabase Auth's `refresh_token_reuse_interval`. */
export const REUSE_INTERVAL_SECONDS = 10;

interface Session {
  id: string;
  userId: string;
  /** The token the next refresh must present. */
  current: string;
  revoked: boolean;
}

interface IssuedToken {
  sessionId: string;
  /** When it was rotated out, or null while it is the current one. */
  rotatedAt: number | null;
}

/** Which sessions a sign-out ends, as Supabase Auth's `scope` parameter. */
export type SignOutScope = "global" | "local" | "others";

/** What a refresh found. */
export type RefreshOutcome =
  | { ok: true; sessionId: string; userId: string; refreshToken: string }
  | { ok: false; reason: "not_found" | "already_used" | "revoked" };

function newToken(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(24));
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_")
    .replace(/=+$/, "");
}

/** The sessions of the local auth API. */
export class SessionStore {
  readonly #sessions = new Map<string, Session>();
  readonly #tokens = new Map<string, IssuedToken>();
  readonly #now: () => number;

  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  /** Starts a session for a user; returns its id and first refresh token. */
  start(userId: string): { sessionId: string; refreshToken: string } {
    const session: Session = {
      id: crypto.randomUUID(),
      userId,
      current: newToken(),
      revoked: false,
    };
    this.#sessions.set(session.id, session);
    this.#tokens.set(session.current, { sessionId: session.id, rotatedAt: null });
    return { sessionId: session.id, refreshToken: session.current };
  }

  /** Exchanges a refresh token for the session's next one. */
  refresh(token: string): RefreshOutcome {
    const issued = this.#tokens.get(token);
    const session = issued && this.#sessions.get(issued.sessionId);
    if (issued === undefined || session === undefined) return { ok: false, reason: "not_found" };
    if (session.revoked) return { ok: false, reason: "revoked" };
    if (issued.rotatedAt !== null) {
      if (this.#now() - issued.rotatedAt <= REUSE_INTERVAL_SECONDS * 1000) {
        return {
          ok: true,
          sessionId: session.id,
          userId: session.userId,
          refreshToken: session.current,
        };
      }
      session.revoked = true;
      return { ok: false, reason: "already_used" };
    }
    issued.rotatedAt = this.#now();
    session.current = newToken();
    this.#tokens.set(session.current, { sessionId: session.id, rotatedAt: null });
    return {
      ok: true,
      sessionId: session.id,
      userId: session.userId,
      refreshToken: session.current,
    };
  }

  /**
   * Ends the caller's session (`local`), every session of its user (`global`), or all the
   * user's sessions but this one (`others`).
   */
  signOut(userId: string, sessionId: string, scope: SignOutScope): void {
    for (const session of this.#sessions.values()) {
      if (session.userId !== userId) continue;
      if (scope === "local" && session.id !== sessionId) continue;
      if (scope === "others" && session.id === sessionId) continue;
      session.revoked = true;
    }
  }

  /** Whether this session was ended. Sessions this store never saw (tokens minted by
   * `deno task token`, or before a restart) are not known to be ended. */
  isEnded(sessionId: string): boolean {
    return this.#sessions.get(sessionId)?.revoked === true;
  }
}
