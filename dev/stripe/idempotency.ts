/**
 * Stripe's idempotency keys: the first answer to a key is kept and replayed to every repeat with
 * the same parameters; a repeat with other parameters is an `idempotency_error`; a repeat that
 * arrives while the first is still running waits for it.
 */

/** An API answer before it becomes a response. */
export interface ApiAnswer {
  status: number;
  /** The JSON body as sent. */
  body: string;
}

/** What a keyed request gets. */
export type IdempotentOutcome =
  | { kind: "executed"; answer: ApiAnswer }
  | { kind: "replayed"; answer: ApiAnswer; originalRequestId: string }
  | { kind: "mismatch" };

interface StoredAnswer extends ApiAnswer {
  fingerprint: string;
  requestId: string;
}

/** Stripe keeps keys 24 hours; a local emulator keeps the most recent ones. */
const DEFAULT_CAPACITY = 10_000;

/**
 * Stripe saves a result once the endpoint started executing: not a 5xx, nor a 400
 * `invalid_request_error` (parameters that failed validation), so a corrected retry runs.
 */
export function isStored(answer: ApiAnswer): boolean {
  if (answer.status >= 500) return false;
  if (answer.status !== 400) return true;
  try {
    return JSON.parse(answer.body)?.error?.type !== "invalid_request_error";
  } catch {
    return true;
  }
}

/** Saved answers keyed by scope (the secret key and the idempotency key). */
export class IdempotencyStore {
  #answers = new Map<string, StoredAnswer>();
  #inFlight = new Map<string, Promise<void>>();

  constructor(readonly capacity = DEFAULT_CAPACITY) {}

  /**
   * Runs `execute` once per scope and replays its kept answer afterwards. `store` decides
   * whether an answer is kept (an injected fault is not: the client's retry gets through).
   */
  async run(
    scope: string,
    fingerprint: string,
    requestId: string,
    execute: () => Promise<ApiAnswer & { store: boolean }>,
  ): Promise<IdempotentOutcome> {
    while (this.#inFlight.has(scope)) await this.#inFlight.get(scope);
    let release = () => {};
    this.#inFlight.set(scope, new Promise<void>((resolve) => (release = resolve)));
    try {
      const stored = this.#answers.get(scope);
      if (stored) {
        if (stored.fingerprint !== fingerprint) return { kind: "mismatch" };
        return {
          kind: "replayed",
          answer: { status: stored.status, body: stored.body },
          originalRequestId: stored.requestId,
        };
      }
      const { store, ...answer } = await execute();
      if (store) this.#keep(scope, { ...answer, fingerprint, requestId });
      return { kind: "executed", answer };
    } finally {
      this.#inFlight.delete(scope);
      release();
    }
  }

  /** Forgets every kept answer. */
  clear(): void {
    this.#answers.clear();
  }

  #keep(scope: string, answer: StoredAnswer): void {
    this.#answers.set(scope, answer);
    if (this.#answers.size > this.capacity) {
      const oldest = this.#answers.keys().next().value;
      if (oldest !== undefined) this.#answers.delete(oldest);
    }
  }
}
