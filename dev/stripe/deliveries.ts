/**
 * Where events go: the endpoint given in the emulator's options (like `stripe listen`, it is not
 * a registered endpoint) and every enabled registered endpoint that wants the event's type,
 * each with its own secret and its own ordered queue. An event's `pending_webhooks` counts the
 * endpoints that have not received it yet. An outage drops deliveries: the events are still
 * made and listed, and stay pending, as after Stripe gives up on an endpoint.
 */
import type { Stripe } from "../../supabase/functions/_shared/stripe.ts";
import type { WebhookEndpointRecord } from "./state.ts";
import { type DeliveryAttempt, WebhookDelivery, type WebhookTarget } from "./webhooks.ts";

/** What the {@link Deliveries} are built with. */
export interface DeliveriesOptions {
  /** The endpoint given in the emulator's options, if any. */
  configured: WebhookTarget | null;
  /** The registered endpoints that want an event type, enabled ones only. */
  endpoints: (type: string) => WebhookEndpointRecord[];
  /** Called once per endpoint that answered an event with a 2xx. */
  delivered: (eventId: string) => void;
  retryDelaysMs?: readonly number[];
  log?: (line: string) => void;
}

/** Every endpoint's queue, and the outage switch. */
export class Deliveries {
  readonly attempts: DeliveryAttempt[] = [];
  readonly #options: DeliveriesOptions;
  readonly #queues = new Map<string, WebhookDelivery>();
  #dropping = false;
  #closed = false;

  constructor(options: DeliveriesOptions) {
    this.#options = options;
  }

  /** Whether deliveries are being dropped (an outage). */
  get dropping(): boolean {
    return this.#dropping;
  }

  set dropping(dropping: boolean) {
    this.#dropping = dropping;
  }

  /** How many endpoints an event of this type goes to. */
  pendingFor(type: string): number {
    return (this.#options.configured ? 1 : 0) + this.#options.endpoints(type).length;
  }

  /** Sends an event to every endpoint that wants it, or records it dropped during an outage. */
  dispatch(event: Stripe.Event): void {
    if (this.#closed) return;
    const targets: { endpoint: string | null; target: WebhookTarget }[] = [];
    if (this.#options.configured) {
      targets.push({ endpoint: null, target: this.#options.configured });
    }
    for (const record of this.#options.endpoints(event.type)) {
      targets.push({
        endpoint: record.endpoint.id,
        target: { url: record.endpoint.url, secret: record.secret },
      });
    }
    if (targets.length === 0) return;
    const body = JSON.stringify(event, null, 2);
    for (const { endpoint, target } of targets) {
      if (this.#dropping) {
        this.attempts.push({
          eventId: event.id,
          eventType: event.type,
          endpoint,
          attempt: 0,
          status: null,
          error: "Dropped: webhook outage",
        });
        continue;
      }
      this.#queue(endpoint, target).enqueue(
        event,
        body,
        () => this.#options.delivered(event.id),
      );
    }
  }

  /** Resolves when no delivery is pending on any endpoint. */
  async settled(): Promise<void> {
    for (;;) {
      const queues = [...this.#queues.values()];
      await Promise.all(queues.map((queue) => queue.settled()));
      if (queues.length === this.#queues.size && queues.every((queue) => queue.idle)) return;
    }
  }

  /** Stops every queue. */
  async close(): Promise<void> {
    this.#closed = true;
    await Promise.all([...this.#queues.values()].map((queue) => queue.close()));
  }

  /** One queue per endpoint and destination: a changed URL or secret starts a new one. */
  #queue(endpoint: string | null, target: WebhookTarget): WebhookDelivery {
    const key = JSON.stringify([endpoint, target.url, target.secret]);
    let queue = this.#queues.get(key);
    if (!queue) {
      queue = new WebhookDelivery(target, {
        attempts: this.attempts,
        endpoint,
        retryDelaysMs: this.#options.retryDelaysMs,
        log: this.#options.log,
      });
      this.#queues.set(key, queue);
    }
    return queue;
  }
}
