/** Where a sync pass stands: its step, the last object it finished, and its events' lower bound. */

/** The steps of a pass, in order. */
export const SYNC_STEPS = ["tasks", "replay", "reconcile", "catalog"] as const;

/** One step of a pass. */
export type SyncStep = typeof SYNC_STEPS[number];

/** A pass's position; the same opaque text in the database and in a check call's answer. */
export interface SyncCursor {
  step: SyncStep;
  /** The id of the last object of the step's list that was finished; null at the step's start. */
  after: string | null;
  /** Replay reads events created at or after this time (seconds since the epoch). */
  since: number;
}

/** The step after `step`, or null after the last one. */
export function nextStep(step: SyncStep): SyncStep | null {
  return SYNC_STEPS[SYNC_STEPS.indexOf(step) + 1] ?? null;
}

const STRIPE_ID = /^[A-Za-z0-9_]{1,255}$/;

function isStep(value: unknown): value is SyncStep {
  return SYNC_STEPS.some((step) => step === value);
}

/** Writes a cursor as URL-safe text. */
export function encodeCursor(cursor: SyncCursor): string {
  const json = JSON.stringify({ step: cursor.step, after: cursor.after, since: cursor.since });
  return btoa(json).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

/** Reads a cursor written by {@link encodeCursor}; a TypeError for anything else. */
export function decodeCursor(text: string): SyncCursor {
  let value: unknown;
  try {
    if (text.length > 1024 || !/^[A-Za-z0-9_-]+$/.test(text)) throw new Error();
    value = JSON.parse(atob(text.replaceAll("-", "+").replaceAll("_", "/")));
  } catch {
    throw new TypeError("Invalid cursor");
  }
  if (typeof value !== "object" || value === null) throw new TypeError("Invalid cursor");
  const { step, after, since } = value as Record<string, unknown>;
  if (
    !isStep(step) ||
    !(after === null || (typeof after === "string" && STRIPE_ID.test(after))) ||
    typeof since !== "number" || !Number.isSafeInteger(since) || since < 0
  ) {
    throw new TypeError("Invalid cursor");
  }
  return { step, after, since };
}
