/**
 * One-time sign-in codes, kept in memory: six digits per email, valid for an hour, used once,
 * and void after five wrong tries, so that guessing one is no faster than at Supabase Auth.
 */

/** Seconds a code stays valid, as local Supabase Auth's default `otp_expiry`. */
export const CODE_LIFETIME_SECONDS = 3600;
/** Wrong tries after which a code is void. */
const MAX_ATTEMPTS = 5;

interface PendingCode {
  code: string;
  expiresAt: number;
  attempts: number;
  sentAt: number;
}

/** The last code sent to an address, as a local mailbox shows it. */
export interface SentCode {
  email: string;
  code: string;
  sentAt: string;
  expiresAt: string;
}

/** Issues and checks sign-in codes. */
export class CodeStore {
  readonly #pending = new Map<string, PendingCode>();
  readonly #now: () => number;

  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  /** A new code for `email`; the one sent before is void. */
  issue(email: string): string {
    const code = String(randomBelow(1_000_000)).padStart(6, "0");
    const now = this.#now();
    this.#pending.set(email, {
      code,
      expiresAt: now + CODE_LIFETIME_SECONDS * 1000,
      attempts: 0,
      sentAt: now,
    });
    return code;
  }

  /** Whether `code` is the live code of `email`; a right code is used up, wrong ones count. */
  verify(email: string, code: string): boolean {
    const pending = this.#pending.get(email);
    if (pending === undefined) return false;
    if (pending.expiresAt <= this.#now()) {
      this.#pending.delete(email);
      return false;
    }
    if (pending.code === code) {
      this.#pending.delete(email);
      return true;
    }
    pending.attempts += 1;
    if (pending.attempts >= MAX_ATTEMPTS) this.#pending.delete(email);
    return false;
  }

  /** The live code sent to `email`, if any. */
  lastSent(email: string): SentCode | undefined {
    const pending = this.#pending.get(email);
    if (pending === undefined || pending.expiresAt <= this.#now()) return undefined;
    return {
      email,
      code: pending.code,
      sentAt: new Date(pending.sentAt).toISOString(),
      expiresAt: new Date(pending.expiresAt).toISOString(),
    };
  }
}

/** A uniformly random whole number below `limit` (rejection sampling: no modulo bias). */
function randomBelow(limit: number): number {
  const ceiling = Math.floor(0x1_0000_0000 / limit) * limit;
  while (true) {
    const value = crypto.getRandomValues(new Uint32Array(1))[0] ?? ceiling;
    if (value < ceiling) return value % limit;
  }
}
