/** The local server's scheduled sync: a whole pass every few seconds, as pg_cron would call it. */
import type { Handler } from "../supabase/functions/_shared/http.ts";

/** Options for {@link startSyncLoop}. */
export interface SyncLoopOptions {
  /** The `stripe-sync` handler. */
  handler: Handler;
  /** Its bearer secret. */
  secret: string;
  /** Seconds between passes; the first runs after `firstDelayMs`. */
  intervalSeconds: number;
  firstDelayMs?: number;
  /** Where a pass that repaired or replayed something, or failed, is reported. */
  log: (line: string) => void;
}

/** A running loop. */
export interface SyncLoop {
  /** Stops the loop after the call in flight, if any. */
  stop(): Promise<void>;
}

/** The request id prefix of the loop's calls, so that their log lines can be told apart. */
export const LOOP_REQUEST_ID = "local-sync-loop";

/**
 * True for the log line of a loop call that found nothing to do: the local server leaves those
 * out, so that its log shows a pass only when it replayed, repaired or failed something.
 */
export function isIdleLoopLine(line: string): boolean {
  if (!line.includes(LOOP_REQUEST_ID)) return false;
  const fields = JSON.parse(line) as Record<string, unknown>;
  return fields.requestId === LOOP_REQUEST_ID && fields.outcome === "ok" &&
    fields.eventsReplayed === 0 && fields.profilesRepaired === 0;
}

/** Most calls one pass may take before the loop gives up on it until the next tick. */
const MAX_CALLS_PER_PASS = 100;

/** Runs one whole pass through the handler, call after call, and describes what it did. */
export async function runLocalPass(handler: Handler, secret: string): Promise<string | null> {
  let replayed = 0;
  let repaired = 0;
  for (let call = 0; call < MAX_CALLS_PER_PASS; call++) {
    const response = await handler(
      new Request("http://127.0.0.1/functions/v1/stripe-sync", {
        method: "POST",
        headers: { Authorization: `Bearer ${secret}`, "x-request-id": LOOP_REQUEST_ID },
      }),
    );
    const body = await response.json().catch(() => ({}));
    if (response.status === 409) return null;
    if (!response.ok) return `sync pass failed: ${response.status} ${JSON.stringify(body)}`;
    replayed += Number(body.eventsReplayed) || 0;
    repaired += Number(body.profilesRepaired) || 0;
    if (body.done === true) {
      return replayed + repaired > 0
        ? `sync pass: ${replayed} missed event(s) replayed, ${repaired} profile(s) repaired`
        : null;
    }
  }
  return `sync pass unfinished after ${MAX_CALLS_PER_PASS} calls; it resumes on the next tick`;
}

/** Starts passes every `intervalSeconds`, each after the previous one ended. */
export function startSyncLoop(options: SyncLoopOptions): SyncLoop {
  let timer: ReturnType<typeof setTimeout> | undefined;
  let running: Promise<void> | undefined;
  let stopped = false;
  const tick = () => {
    running = runLocalPass(options.handler, options.secret)
      .then((line) => {
        if (line !== null) options.log(line);
      })
      .catch((error) => options.log(`sync pass failed: ${String(error)}`))
      .finally(() => {
        running = undefined;
        if (!stopped) timer = setTimeout(tick, options.intervalSeconds * 1000);
      });
  };
  timer = setTimeout(tick, options.firstDelayMs ?? 2000);
  return {
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}
