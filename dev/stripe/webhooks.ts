/** Webhook delivery to one endpoint: Stripe-signed POSTs, in event order, retried with backoff. */

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
  /** The registered endpoint's id; null for the endpoint given in the emulator's options. */
  endpoint: string | null;
  /** 1 for the first attempt; 0 for an event dropped during an outage. */
  attempt: number;
  /** HTTP status, or null when the request itself failed (or was dropped). */
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

/** A queued event: its JSON as delivered, and what to do once it was received. */
interface Queued {
  id: string;
  type: string;
  body: string;
  delivered: () => void;
}

/** How a {@link WebhookDelivery} reports and retries. */
export interface DeliveryOptions {
  /** Where attempts are recorded. */
  attempts: DeliveryAttempt[];
  /** The registered endpoint's id, or null for the configured one. */
  endpoint: string | null;
  /** Delays between attempts; one attempt more than delays. */
  retryDelaysMs?: readonly number[];
  /** Where failed attempts are reported. */
  log?: (line: string) => void;
}

/** Delivers events to one endpoint, one after another, in the background. */
export class WebhookDelivery {
  readonly attempts: DeliveryAttempt[];
  readonly endpoint: string | null;
  readonly retryDelaysMs: readonly number[];
  readonly log: (line: string) => void;
  #queue: Queued[] = [];
  #running: Promise<void> | null = null;
  #closed = false;
  #sleeps = new Sleeps();
  #abort = new AbortController();

  constructor(readonly target: WebhookTarget, options: DeliveryOptions) {
    this.attempts = options.attempts;
    this.endpoint = options.endpoint;
    this.retryDelaysMs = options.retryDelaysMs ?? RETRY_DELAYS_MS;
    this.log = options.log ?? ((line) => console.warn(line));
  }

  /** Queues an event (its JSON as delivered); `delivered` runs when a 2xx answered it. */
  enqueue(event: { id: string; type: string }, body: string, delivered = () => {}): void {
    if (this.#closed) return;
    this.#queue.push({ id: event.id, type: event.type, body, delivered });
    if (!this.#running) {
      this.#running = this.#drain().finally(() => {
        this.#running = null;
      });
    }
  }

  /** Whether nothing is queued or being delivered. */
  get idle(): boolean {
    return this.#running === null && this.#queue.length === 0;
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

  async #deliver(item: Queued): Promise<void> {
    for (let attempt = 1; attempt <= this.retryDelaysMs.length + 1; attempt++) {
      if (this.#closed) return;
      const result = await this.#attempt(item.body);
      this.attempts.push({
        eventId: item.id,
        eventType: item.type,
        endpoint: this.endpoint,
        attempt,
        ...result,
      });
      if (result.status !== null && result.status >= 200 && result.status < 300) {
        item.delivered();
        return;
      }
      const delay = this.retryDelaysMs[attempt - 1];
      this.log(
        `Webhook ${item.type} ${item.id} to ${this.target.url} attempt ${attempt} failed: ${
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
