/**
 * Replay: events of a handled type that Stripe has and the ledger does not (deliveries that
 * never arrived, or that Stripe gave up on) are applied through the webhook's own path, so an
 * event replayed here and delivered later is a duplicate there, and the other way round.
 */
import { type ApplyDeps, applyEvent, type EventOutcome, isRecorded } from "../_shared/apply.ts";
import { eventsInLedger } from "../_shared/db.ts";
import type { Stripe } from "../_shared/stripe.ts";

/** What replaying one page of events found and did. */
export interface ReplayOutcome {
  /** Events of the page that the ledger did not hold. */
  missing: number;
  /** Of those, the ones applied now (in check mode, none). */
  replayed: number;
  /** Of those, the ones about a user or customer no profile matches. */
  unmatched: number;
}

/**
 * Finds the page's events missing from the ledger (of those applying would record) (one round trip) and, in write mode, applies
 * each exactly once. `onEvent` hears of each missing event and how it ended.
 */
export async function replayPage(
  deps: ApplyDeps,
  events: readonly Stripe.Event[],
  write: boolean,
  onEvent?: (event: Stripe.Event, outcome: EventOutcome | "missing") => void,
): Promise<ReplayOutcome> {
  const recorded = events.filter(isRecorded);
  const known = await eventsInLedger(deps.db, recorded.map((event) => event.id));
  const outcome: ReplayOutcome = { missing: 0, replayed: 0, unmatched: 0 };
  for (const event of recorded) {
    if (known.has(event.id)) continue;
    outcome.missing++;
    if (!write) {
      onEvent?.(event, "missing");
      continue;
    }
    const result = await applyEvent(event, deps);
    if (result !== "duplicate") outcome.replayed++;
    if (result === "unmatched") outcome.unmatched++;
    onEvent?.(event, result);
  }
  return outcome;
}
