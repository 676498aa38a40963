/**
 * A stateful, in-memory emulator of the parts of Stripe's API this project calls. It speaks
 * Stripe's wire format, so the real SDK pointed at it cannot tell it from Stripe; it also
 * serves checkout and portal pages for people and delivers signed webhooks.
 */
import type { Stripe } from "../../supabase/functions/_shared/stripe.ts";
import { routeApi } from "./api/router.ts";
import { authenticate, type Caller } from "./auth.ts";
import { BodyTooLarge, readBody } from "./body.ts";
import { deletePrice, seedCatalog } from "./catalog.ts";
import { completeCheckout, type CompleteCheckoutOptions, expireCheckout } from "./checkout.ts";
import { advanceClock, type ClockAdvance } from "./clock.ts";
import { type SubscriptionControl, subscriptionControl } from "./control.ts";
import { handleControl } from "./control_routes.ts";
import { Deliveries } from "./deliveries.ts";
import { errorBody, StripeApiError } from "./errors.ts";
import { type Fault, faultError, FaultQueue } from "./faults.ts";
import { type ParamObject, parseForm, parseParams } from "./form.ts";
import { HostCheck } from "./hosts.ts";
import { type ApiAnswer, IdempotencyStore, isStored } from "./idempotency.ts";
import { newId, snapshot } from "./objects.ts";
import { handlePage } from "./pages/mod.ts";
import { type RecordedRequest, RequestRecorder } from "./recorder.ts";
import { seed, type SeedOptions, type SeedResult } from "./seeding.ts";
import { type StateSnapshot, StripeState } from "./state.ts";
import { StateFile } from "./state_file.ts";
import { type HandEdit, handEdit } from "./subscriptions.ts";
import { API_VERSION } from "./version.ts";
import { endpointsFor } from "./webhook_endpoints.ts";
import { type DeliveryAttempt, Sleeps } from "./webhooks.ts";

/** How the emulator is set up. */
export interface StripeEmulatorOptions {
  /**
   * The secret key callers must present (Authorization: Bearer ...); a `sk_live_` key makes a
   * live-mode account. Default: any `sk_test_` key.
   */
  secretKey?: string;
  /** Where and how to deliver webhook events; when unset, events are only recorded. */
  webhook?: { url: string; secret: string };
  /** Base URL the emulator is reachable at, used in checkout/portal session URLs. */
  publicUrl?: string;
  /** Clock for tests (seconds since epoch). Default `Date.now() / 1000`. */
  now?: () => number;
  /** Delays between webhook attempts (default 0.2 s, 0.5 s, 1 s, 2 s: five attempts). */
  webhookRetryDelaysMs?: readonly number[];
  /** Where failed webhook attempts are reported. Default `console.warn`. */
  log?: (line: string) => void;
  /**
   * A JSON file that keeps the account between runs: read at start when it exists, written
   * after every request that may change something (and by `save()`).
   */
  stateFile?: string;
  /** Every API answer waits this long first, to model Stripe's round trip. Default 0. */
  latencyMs?: number;
  /** Host names answered besides loopback names and the public URL's host. */
  allowedHosts?: readonly string[];
}

const JSON_HEADERS = { "Content-Type": "application/json" };

function json(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body, null, 2), { status, headers: JSON_HEADERS });
}

/** The emulator: an HTTP handler plus control methods for tests and the dev pages. */
export class StripeEmulator {
  readonly #options: StripeEmulatorOptions;
  readonly #state: StripeState;
  readonly #deliveries: Deliveries;
  readonly #recorder = new RequestRecorder();
  readonly #faults = new FaultQueue();
  readonly #idempotency = new IdempotencyStore();
  readonly #hosts: HostCheck;
  readonly #stateFile: StateFile | null;
  readonly #sleeps = new Sleeps();
  #publicUrl: string;

  constructor(options: StripeEmulatorOptions = {}) {
    this.#options = options;
    this.#publicUrl = (options.publicUrl ?? "http://127.0.0.1:12111").replace(/\/+$/, "");
    this.#hosts = new HostCheck([this.#publicUrl], options.allowedHosts);
    this.#stateFile = options.stateFile === undefined ? null : new StateFile(options.stateFile);
    const now = options.now ?? (() => Math.floor(Date.now() / 1000));
    this.#deliveries = new Deliveries({
      configured: options.webhook ?? null,
      endpoints: (type) => endpointsFor(this.#state, type),
      delivered: (eventId) => {
        const event = this.#state.event(eventId);
        event.pending_webhooks = Math.max(0, event.pending_webhooks - 1);
      },
      retryDelaysMs: options.webhookRetryDelaysMs,
      log: options.log,
    });
    this.#state = new StripeState({
      now,
      publicUrl: () => this.#publicUrl,
      livemode: options.secretKey?.startsWith("sk_live_") ?? false,
      onEvent: (event) => this.#deliveries.dispatch(event),
      pendingWebhooks: (type) => this.#deliveries.pendingFor(type),
      seed: seedCatalog,
    });
  }

  /** The base URL used in session URLs. */
  get publicUrl(): string {
    return this.#publicUrl;
  }

  set publicUrl(url: string) {
    this.#publicUrl = url.replace(/\/+$/, "");
    this.#hosts.allowUrl(this.#publicUrl);
  }

  /** The account's state, for the pages and tests. */
  get state(): StripeState {
    return this.#state;
  }

  // ---- control -------------------------------------------------------------------------------

  /**
   * Pays an open subscription-mode session as Stripe does and returns the new subscription.
   * Options: a trial, a promotion code the person typed, whether they gave a card.
   */
  completeCheckout(sessionId: string, options: CompleteCheckoutOptions = {}): Stripe.Subscription {
    const session = this.#state.checkout(sessionId).session;
    if (session.mode !== "subscription") {
      throw new Error(
        `Checkout session "${sessionId}" is in ${session.mode} mode, not subscription`,
      );
    }
    const subscription = completeCheckout(this.#state, sessionId, options);
    if (!subscription) throw new Error(`Checkout session "${sessionId}" made no subscription`);
    return snapshot(subscription);
  }

  /** Expires an open session (`checkout.session.expired`). */
  expireCheckout(sessionId: string): Stripe.Checkout.Session {
    return snapshot(expireCheckout(this.#state, sessionId));
  }

  /**
   * Changes a subscription without any event, as a person editing it in the Dashboard while
   * the endpoint is misconfigured: status, price, quantity, cancellation, metadata, periods.
   */
  handEdit(subscriptionId: string, edit: HandEdit): Stripe.Subscription {
    return snapshot(handEdit(this.#state, subscriptionId, edit));
  }

  /**
   * Moves the account's clock forward, making what falls due on the way happen in order:
   * trial-end notices, trial ends, scheduled cancellations, renewals, session expiries.
   */
  advanceClock(seconds: number): ClockAdvance {
    return advanceClock(this.#state, seconds);
  }

  /** The account's time, in seconds since the epoch (the wall clock plus any advance). */
  now(): number {
    return this.#state.now();
  }

  /** Creates many customers with a subscription each, silently unless `events` is set. */
  seed(options: SeedOptions): SeedResult {
    return seed(this.#state, options);
  }

  /** Deletes a never-used price, as the Dashboard can (`price.deleted`). */
  deletePrice(priceId: string): Stripe.Price {
    return snapshot(deletePrice(this.#state, priceId));
  }

  /**
   * Starts (true) or ends (false) a webhook outage: while it lasts, deliveries are dropped and
   * their events stay pending (`pending_webhooks` > 0), as after Stripe gives up on an endpoint.
   */
  setOutage(dropping: boolean): void {
    this.#deliveries.dropping = dropping;
  }

  /** Whether webhook deliveries are being dropped. */
  get outage(): boolean {
    return this.#deliveries.dropping;
  }

  /** The control actions of one subscription: `emulator.subscription(id).renew({ fail: true })`. */
  subscription(id: string): SubscriptionControl {
    this.#state.subscription(id);
    return subscriptionControl(this.#state, id);
  }

  /** Every event so far, oldest first, as delivered (decimal fields are strings, as on the wire). */
  events(): Stripe.Event[] {
    return snapshot(this.#state.events);
  }

  /** Every API call so far, oldest first. */
  requests(): RecordedRequest[] {
    return this.#recorder.list();
  }

  /** Current objects, oldest first. */
  customers(): (Stripe.Customer | Stripe.DeletedCustomer)[] {
    return snapshot([...this.#state.customers.values()]);
  }

  /** Current subscriptions, oldest first. */
  subscriptions(): Stripe.Subscription[] {
    return snapshot([...this.#state.subscriptions.values()]);
  }

  /** Current invoices, oldest first. */
  invoices(): Stripe.Invoice[] {
    return snapshot([...this.#state.invoices.values()]);
  }

  /** Current checkout sessions, oldest first. */
  checkoutSessions(): Stripe.Checkout.Session[] {
    return snapshot([...this.#state.checkouts.values()].map((record) => record.session));
  }

  /** Webhook delivery attempts so far, to every endpoint, with dropped ones (attempt 0). */
  deliveries(): DeliveryAttempt[] {
    return snapshot(this.#deliveries.attempts);
  }

  /** Resolves when no webhook delivery is pending. */
  deliveriesSettled(): Promise<void> {
    return this.#deliveries.settled();
  }

  /** Makes the next matching API calls answer an error or hang. */
  failNext(fault: Fault): void {
    this.#faults.add(fault);
  }

  /** Forgets every fault not yet used; answers how many wait (0). */
  clearFaults(): number {
    this.#faults.clear();
    return this.#faults.size;
  }

  /** How many faults wait for their calls. */
  get pendingFaults(): number {
    return this.#faults.size;
  }

  /**
   * Back to the seeded state: no objects, events, requests, faults or idempotency keys, the
   * clock back to the wall clock, and no outage.
   */
  reset(): void {
    this.#state.clear();
    this.#recorder.clear();
    this.#faults.clear();
    this.#idempotency.clear();
    this.#deliveries.attempts.splice(0);
    this.#deliveries.dropping = false;
  }

  /** Stops webhook retries and pending delays. */
  async close(): Promise<void> {
    // Hanging calls answer now, so that the server can shut down.
    this.#sleeps.wakeAll();
    await this.#deliveries.close();
  }

  // ---- HTTP ----------------------------------------------------------------------------------

  /** Answers one HTTP request: `/v1/...` API, `/_emulator/...` control, or a page. */
  async handle(request: Request): Promise<Response> {
    const url = new URL(request.url);
    if (!this.#hosts.allows(url.host)) {
      return json({ error: `Requests for host "${url.hostname}" are not answered here` }, 403);
    }
    let response: Response;
    try {
      response = await this.#route(request, url);
    } catch (error) {
      if (!(error instanceof BodyTooLarge)) throw error;
      response = json({ error: { type: "invalid_request_error", message: error.message } }, 413);
    }
    if (request.method !== "GET" && request.method !== "HEAD") await this.save();
    return response;
  }

  /**
   * Writes the account to `stateFile`, if there is one. Requests that may change something
   * write it themselves; a caller of the control methods in the same process calls this.
   */
  async save(): Promise<void> {
    await this.#stateFile?.write(this.#state.toSnapshot());
  }

  /** Loads the account kept in `stateFile`, if there is one. */
  async load(): Promise<void> {
    const saved = await this.#stateFile?.read();
    if (saved !== null && saved !== undefined) this.#state.restore(saved as StateSnapshot);
  }

  /** The caller of a control or API request, or Stripe's 401. */
  authenticate(request: Request): Caller | StripeApiError {
    return authenticate(request.headers.get("Authorization"), this.#options.secretKey);
  }

  async #route(request: Request, url: URL): Promise<Response> {
    if (url.pathname.startsWith("/v1/")) return await this.#handleApi(request, url);
    if (url.pathname.startsWith("/_emulator/")) return await handleControl(this, request, url);
    const page = await handlePage(this.#state, request, url);
    if (page) return page;
    return json({ error: "Not found" }, 404);
  }

  async #handleApi(request: Request, url: URL): Promise<Response> {
    const requestId = newId("req");
    const version = request.headers.get("Stripe-Version") ?? API_VERSION;
    const idempotencyKey = request.headers.get("Idempotency-Key");
    const method = request.method.toUpperCase();
    const mutating = method === "POST" || method === "DELETE";
    const body = method === "GET" ? "" : await readBody(request);
    let params: ParamObject;
    try {
      params = method === "POST" ? parseForm(body) : parseParams(url.searchParams);
    } catch {
      params = {};
    }
    const record = this.#recorder.record({ method, path: url.pathname, params, idempotencyKey });
    const respond = (answer: ApiAnswer, extra: Record<string, string> = {}) => {
      record.status = answer.status;
      return new Response(answer.body, {
        status: answer.status,
        headers: {
          ...JSON_HEADERS,
          "Request-Id": requestId,
          "Stripe-Version": version,
          ...(idempotencyKey && mutating ? { "Idempotency-Key": idempotencyKey } : {}),
          ...extra,
        },
      });
    };

    if (this.#options.latencyMs) await this.#sleeps.sleep(this.#options.latencyMs);
    const caller = this.authenticate(request);
    if (caller instanceof StripeApiError) return respond(this.#errorAnswer(caller, requestId));

    const fault = this.#faults.take(method, url.pathname);
    const execute = async (): Promise<ApiAnswer & { store: boolean }> => {
      if (fault?.delayMs) await this.#sleeps.sleep(fault.delayMs);
      // Injected faults are never kept: the client's retry with the same key gets through.
      if (fault?.status) {
        return { ...this.#errorAnswer(faultError(fault), requestId), store: false };
      }
      const answer = this.#run(method, url.pathname, params, requestId, idempotencyKey);
      return { ...answer, store: isStored(answer) };
    };
    if (!mutating || !idempotencyKey) return respond(await execute());

    // Keys belong to one secret key.
    const outcome = await this.#idempotency.run(
      `${caller.key}\u0000${idempotencyKey}`,
      JSON.stringify([method, url.pathname, params]),
      requestId,
      execute,
    );
    switch (outcome.kind) {
      case "executed":
        return respond(outcome.answer);
      case "replayed":
        return respond(outcome.answer, {
          "Idempotent-Replayed": "true",
          "Original-Request": outcome.originalRequestId,
        });
      case "mismatch":
        return respond(this.#errorAnswer(
          new StripeApiError(400, {
            type: "idempotency_error",
            message:
              `Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '${idempotencyKey}' if you meant to execute a different request.`,
          }),
          requestId,
        ));
    }
  }

  #errorAnswer(error: StripeApiError, requestId: string): ApiAnswer {
    const body = errorBody(error.body, requestId, this.#state.livemode, this.#state.now());
    return { status: error.status, body: JSON.stringify({ error: body }, null, 2) };
  }

  #run(
    method: string,
    path: string,
    params: ParamObject,
    requestId: string,
    idempotencyKey: string | null,
  ): ApiAnswer {
    try {
      const result = this.#state.withRequest(
        { id: requestId, idempotencyKey },
        () => routeApi(this.#state, method, path, params),
      );
      return { status: result.status, body: JSON.stringify(result.body, null, 2) };
    } catch (error) {
      if (error instanceof StripeApiError) return this.#errorAnswer(error, requestId);
      console.error(error);
      return this.#errorAnswer(
        new StripeApiError(500, {
          type: "api_error",
          message: `The local Stripe emulator failed: ${
            error instanceof Error ? error.message : error
          }`,
        }),
        requestId,
      );
    }
  }
}

/** A running emulator. */
export interface RunningStripeEmulator {
  url: string;
  emulator: StripeEmulator;
  close(): Promise<void>;
}

/** Serves an emulator over HTTP (port 0 picks a free port) and sets its public URL. */
export async function startStripeEmulator(
  options: StripeEmulatorOptions & { port?: number; hostname?: string } = {},
): Promise<RunningStripeEmulator> {
  const { port = 0, hostname = "127.0.0.1", ...rest } = options;
  const emulator = new StripeEmulator(rest);
  await emulator.load();
  return await new Promise((resolve) => {
    const server = Deno.serve({
      port,
      hostname,
      onListen: (address) => {
        const host = address.hostname.includes(":") ? `[${address.hostname}]` : address.hostname;
        const url = `http://${host}:${address.port}`;
        if (rest.publicUrl === undefined) emulator.publicUrl = url;
        resolve({
          url,
          emulator,
          close: async () => {
            await emulator.close();
            await server.shutdown();
          },
        });
      },
    }, (request) => emulator.handle(request));
  });
}
