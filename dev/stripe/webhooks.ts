/** Webhook delivery: Stripe-signed POSTs, in event order, retried with backoff. */

const encoder = new TextEncoder();

/** The `Stripe-Signature` header value for a payload: `t=<seconds>,v1=<hex HMAC-SHA256>`. */
export async function signPayload(
  payload: string,
  secret: string,
  timestamp: number = Math.floor(Date.now() / 1000),
): Promise<string> {
  const key = await crypto.subtle.importKey(
    "raw",
    encoder.encode(secret),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  const mac = await crypto.subtle.sign("HMAC", key, encoder.encode(`${timestamp}.${payload}`));
  const hex = Array.from(new Uint8Array(mac), (byte) => byte.toString(16).padStart(2, "0")).join(
    "",
  );
  return `t=${timestamp},v1=${hex}`;
}

/** Where and how to deliver events. */
export interface WebhookTarget {
  url: string;
  secret: string;
}

/** One delivery attempt, for tests and the log. */
export interface DeliveryAttempt {
  eventId: string;
  eventType: string;
  attempt: number;
  /** HTTP status, or null when the request itself failed. */
  status: number | null;
  error?: string;
}

/** Pending delays that closing can cut short, so that it never waits out a timer. */
export class Sleeps {
  #pending = new Set<{ id: ReturnType<typeof setTimeout>; resolve: () => void }>();

  /** Resolves after `ms`, or as soon as {@link wakeAll} is called. */
  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const sleep = {
        id: setTimeout(() => {
          this.#pending.delete(sleep);
          resolve();
        }, ms),
        resolve,
      };
      this.#pending.add(sleep);
    });
  }

  /** Ends every pending sleep now. */
  wakeAll(): void {
    for (const sleep of this.#pending) {
      clearTimeout(sleep.id);
      sleep.resolve();
    }
    this.#pending.clear();
  }
}

/** Delays between attempts: five attempts in all, as a local stand-in for Stripe's days. */
const RETRY_DELAYS_MS: readonly number[] = [200, 500, 1000, 2000];

/** Delivers events one after another in the background. */
export class WebhookDelivery {
  readonly attempts: DeliveryAttempt[] = [];
  #queue: { id: string; type: string; body: string }[] = [];
  #running: Promise<void> | null = null;
  #closed = false;
  #sleeps = new Sleeps();
  #abort = new AbortController();

  constructor(
    readonly target: WebhookTarget,
    readonly retryDelaysMs: readonly number[] = RETRY_DELAYS_MS,
    readonly log: (line: string) => void = (line) => console.warn(line),
  ) {}

  /** Queues an event (its JSON as delivered). */
  enqueue(event: { id: string; type: string }, body: string): void {
    if (this.#closed) return;
    this.#queue.push({ id: event.id, type: event.type, body });
    if (!this.#running) {
      this.#running = this.#drain().finally(() => {
        this.#running = null;
      });
    }
  }

  /** Resolves when every queued event was delivered or gave up. */
  async settled(): Promise<void> {
    while (this.#running) await this.#running;
  }

  /** Stops retrying and drops what is queued. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#queue.length = 0;
    this.#abort.abort();
    this.#sleeps.wakeAll();
    await this.settled();
  }

  async #drain(): Promise<void> {
    while (this.#queue.length > 0 && !this.#closed) {
      const next = this.#queue.shift();
      if (next) await this.#deliver(next);
    }
  }

  async #deliver(item: { id: string; type: string; body: string }): Promise<void> {
    for (let attempt = 1; attempt <= this.retryDelaysMs.length + 1; attempt++) {
      if (this.#closed) return;
      const result = await this.#attempt(item.body);
      this.attempts.push({ eventId: item.id, eventType: item.type, attempt, ...result });
      if (result.status !== null && result.status >= 200 && result.status < 300) return;
      const delay = this.retryDelaysMs[attempt - 1];
      this.log(
        `Webhook ${item.type} ${item.id} attempt ${attempt} failed: ${
          result.error ?? `HTTP ${result.status}`
        }${delay === undefined ? "; giving up" : `; retrying in ${delay} ms`}`,
      );
      if (delay === undefined) return;
      await this.#sleeps.sleep(delay);
    }
  }

  async #attempt(body: string): Promise<{ status: number | null; error?: string }> {
    try {
      // Signed with the wall clock, not the emulator's: receivers check it against theirs.
      const signature = await signPayload(body, this.target.secret);
      const response = await fetch(this.target.url, {
        method: "POST",
        headers: {
          "Content-Type": "application/json; charset=utf-8",
          "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
          "Stripe-Signature": signature,
          "Cache-Control": "no-cache",
          Accept: "*/*; q=0.5, application/xml",
        },
        body,
        signal: this.#abort.signal,
      });
      await response.body?.cancel();
      return { status: response.status };
    } catch (error) {
      return { status: null, error: error instanceof Error ? error.message : String(error) };
    }
  }
}
