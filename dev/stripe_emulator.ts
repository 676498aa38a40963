/**
 * A stateful, in-memory emulator of the parts of Stripe's API this project calls. It speaks
 * Stripe's wire format, so the real SDK pointed at it cannot tell it from Stripe; it also
 * serves checkout and portal pages for people and delivers signed webhooks.
 */
import type { Stripe } from "../supabase/functions/_shared/stripe.ts";
import { routeApi } from "./stripe/api.ts";
import {
  actionFromPath,
  runAction,
  type SubscriptionControl,
  subscriptionControl,
} from "./stripe/control.ts";
import { type ParamObject, parseForm, parseParams } from "./stripe/form.ts";
import { newId, snapshot } from "./stripe/objects.ts";
import { handlePage } from "./stripe/pages.ts";
import { StripeApiError, type StripeErrorBody } from "./stripe/params.ts";
import {
  API_VERSION,
  type CompleteCheckoutOptions,
  DEFAULT_PRICE_ID,
  type StateSnapshot,
  StripeState,
} from "./stripe/state.ts";
import { type DeliveryAttempt, signPayload, Sleeps, WebhookDelivery } from "./stripe/webhooks.ts";

export { API_VERSION, DEFAULT_PRICE_ID, signPayload };
export type { CompleteCheckoutOptions, DeliveryAttempt, SubscriptionControl };
export type { RenewOptions } from "./stripe/state.ts";

/** How the emulator is set up. */
export interface StripeEmulatorOptions {
  /** The secret key callers must present (Authorization: Bearer ...). Default: any `sk_test_` key. */
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
   * after every request that may change something.
   */
  stateFile?: string;
}

/** One API call as received, for tests to assert on. */
export interface RecordedRequest {
  method: string;
  path: string;
  params: ParamObject;
  idempotencyKey: string | null;
  /** The status answered. */
  status: number;
}

/** Makes the next matching API calls fail or hang. */
export interface Fault {
  /** Only calls with this method (any when unset). */
  method?: string;
  /** Only calls whose path starts with this string or matches this RegExp. */
  path?: string | RegExp;
  /** Answer this status with Stripe's error body (500 `api_error`, 429 `rate_limit`, 402 card declined, ...). */
  status?: number;
  /** How many calls to affect. Default 1. */
  count?: number;
  /** Wait this long before answering (to exercise client timeouts). */
  delayMs?: number;
  /** Override the error body. */
  error?: { type?: StripeErrorBody["type"]; code?: string; message?: string };
}

interface StoredResponse {
  fingerprint: string;
  status: number;
  body: string;
  requestId: string;
}

/** Stripe keeps keys 24 hours; a local emulator keeps the most recent ones. */
const IDEMPOTENCY_CAPACITY = 10_000;

const JSON_HEADERS = { "Content-Type": "application/json" };

/** The emulator: an HTTP handler plus control methods for tests and the dev pages. */
export class StripeEmulator {
  readonly #options: StripeEmulatorOptions;
  readonly #state: StripeState;
  readonly #webhook: WebhookDelivery | null;
  #publicUrl: string;
  #requests: RecordedRequest[] = [];
  #faults: (Fault & { remaining: number })[] = [];
  #idempotency = new Map<string, StoredResponse>();
  #inFlight = new Map<string, Promise<void>>();
  #sleeps = new Sleeps();

  constructor(options: StripeEmulatorOptions = {}) {
    this.#options = options;
    this.#publicUrl = (options.publicUrl ?? "http://127.0.0.1:12111").replace(/\/+$/, "");
    const now = options.now ?? (() => Math.floor(Date.now() / 1000));
    this.#webhook = options.webhook
      ? new WebhookDelivery(options.webhook, options.webhookRetryDelaysMs, options.log)
      : null;
    this.#state = new StripeState(
      now,
      () => this.#publicUrl,
      (event) => this.#webhook?.enqueue(event, JSON.stringify(event, null, 2)),
      () => (this.#webhook ? 1 : 0),
    );
  }

  /** The base URL used in session URLs. */
  get publicUrl(): string {
    return this.#publicUrl;
  }

  set publicUrl(url: string) {
    this.#publicUrl = url.replace(/\/+$/, "");
  }

  /** The account's state, for the pages and tests. */
  get state(): StripeState {
    return this.#state;
  }

  // ---- control -------------------------------------------------------------------------------

  /** Pays an open subscription-mode session as Stripe does and returns the new subscription. */
  completeCheckout(sessionId: string, options: CompleteCheckoutOptions = {}): Stripe.Subscription {
    const session = this.#state.checkout(sessionId).session;
    if (session.mode !== "subscription") {
      throw new Error(
        `Checkout session "${sessionId}" is in ${session.mode} mode, not subscription`,
      );
    }
    const subscription = this.#state.completeCheckout(sessionId, options);
    if (!subscription) throw new Error(`Checkout session "${sessionId}" made no subscription`);
    return snapshot(subscription);
  }

  /** Expires an open session (`checkout.session.expired`). */
  expireCheckout(sessionId: string): Stripe.Checkout.Session {
    return snapshot(this.#state.expireCheckout(sessionId));
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
    return snapshot(this.#requests);
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

  /** Webhook delivery attempts so far. */
  deliveries(): DeliveryAttempt[] {
    return snapshot(this.#webhook?.attempts ?? []);
  }

  /** Resolves when no webhook delivery is pending. */
  deliveriesSettled(): Promise<void> {
    return this.#webhook?.settled() ?? Promise.resolve();
  }

  /** Makes the next matching API calls answer an error or hang. */
  failNext(fault: Fault): void {
    this.#faults.push({ ...fault, remaining: fault.count ?? 1 });
  }

  /** Back to the seeded state: no objects, events, requests, faults or idempotency keys. */
  reset(): void {
    this.#state.clear();
    this.#requests = [];
    this.#faults = [];
    this.#idempotency.clear();
    this.#webhook?.attempts.splice(0);
  }

  /** Stops webhook retries and pending fault delays. */
  async close(): Promise<void> {
    // Hanging calls answer now, so that the server can shut down.
    this.#sleeps.wakeAll();
    await this.#webhook?.close();
  }

  // ---- HTTP ----------------------------------------------------------------------------------

  /** Answers one HTTP request: `/v1/...` API, `/_emulator/...` control, or a page. */
  async handle(request: Request): Promise<Response> {
    const response = await this.#route(request);
    if (this.#options.stateFile !== undefined && request.method !== "GET") {
      await Deno.writeTextFile(this.#options.stateFile, JSON.stringify(this.#state.toSnapshot()));
    }
    return response;
  }

  /** Loads the account kept in `stateFile`, if there is one. */
  async load(): Promise<void> {
    if (this.#options.stateFile === undefined) return;
    let text: string;
    try {
      text = await Deno.readTextFile(this.#options.stateFile);
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return;
      throw error;
    }
    this.#state.restore(JSON.parse(text) as StateSnapshot);
  }

  async #route(request: Request): Promise<Response> {
    const url = new URL(request.url);
    if (url.pathname.startsWith("/v1/")) return await this.#handleApi(request, url);
    if (url.pathname.startsWith("/_emulator/")) return await this.#handleControl(request, url);
    const page = await handlePage(this.#state, request, url);
    if (page) return page;
    return new Response(JSON.stringify({ error: "Not found" }), {
      status: 404,
      headers: JSON_HEADERS,
    });
  }

  async #handleApi(request: Request, url: URL): Promise<Response> {
    const requestId = newId("req");
    const version = request.headers.get("Stripe-Version") ?? API_VERSION;
    const idempotencyKey = request.headers.get("Idempotency-Key");
    const method = request.method.toUpperCase();
    const headers = (extra: Record<string, string> = {}) => ({
      ...JSON_HEADERS,
      "Request-Id": requestId,
      "Stripe-Version": version,
      ...(idempotencyKey && (method === "POST" || method === "DELETE")
        ? { "Idempotency-Key": idempotencyKey }
        : {}),
      ...extra,
    });
    const fail = (error: StripeApiError, extra: Record<string, string> = {}) =>
      new Response(JSON.stringify({ error: errorBody(error.body, requestId) }, null, 2), {
        status: error.status,
        headers: headers(extra),
      });

    const body = method === "GET" ? "" : await request.text();
    let params: ParamObject;
    try {
      params = method === "POST" ? parseForm(body) : parseParams(url.searchParams);
    } catch {
      params = {};
    }
    const record: RecordedRequest = {
      method,
      path: url.pathname,
      params,
      idempotencyKey,
      status: 0,
    };
    this.#requests.push(record);
    const answer = (response: Response) => {
      record.status = response.status;
      return response;
    };

    const key = this.#authenticate(request);
    if (key instanceof StripeApiError) return answer(fail(key));

    const fault = this.#takeFault(method, url.pathname);
    const mutating = method === "POST" || method === "DELETE";
    if (!mutating || !idempotencyKey) {
      if (fault?.delayMs) await this.#sleeps.sleep(fault.delayMs);
      if (fault?.status) return answer(fail(faultError(fault)));
      return answer(this.#run(method, url.pathname, params, requestId, null, headers));
    }

    // Keys are per secret key; a concurrent request with the same key waits, then replays.
    const scope = `${key}\u0000${idempotencyKey}`;
    while (this.#inFlight.has(scope)) await this.#inFlight.get(scope);
    let done = () => {};
    this.#inFlight.set(scope, new Promise<void>((resolve) => (done = resolve)));
    try {
      if (fault?.delayMs) await this.#sleeps.sleep(fault.delayMs);
      // Injected faults are never saved: the client's retry with the same key gets through.
      if (fault?.status) return answer(fail(faultError(fault)));
      const fingerprint = JSON.stringify([method, url.pathname, params]);
      const stored = this.#idempotency.get(scope);
      if (stored) {
        if (stored.fingerprint !== fingerprint) {
          return answer(fail(
            new StripeApiError(400, {
              type: "idempotency_error",
              message:
                `Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '${idempotencyKey}' if you meant to execute a different request.`,
            }),
          ));
        }
        return answer(
          new Response(stored.body, {
            status: stored.status,
            headers: headers({
              "Idempotent-Replayed": "true",
              "Original-Request": stored.requestId,
            }),
          }),
        );
      }
      const response = this.#run(method, url.pathname, params, requestId, idempotencyKey, headers);
      const text = await response.clone().text();
      if (shouldStore(response.status, text)) {
        this.#idempotency.set(scope, {
          fingerprint,
          status: response.status,
          body: text,
          requestId,
        });
        if (this.#idempotency.size > IDEMPOTENCY_CAPACITY) {
          const oldest = this.#idempotency.keys().next().value;
          if (oldest !== undefined) this.#idempotency.delete(oldest);
        }
      }
      return answer(response);
    } finally {
      this.#inFlight.delete(scope);
      done();
    }
  }

  #run(
    method: string,
    path: string,
    params: ParamObject,
    requestId: string,
    idempotencyKey: string | null,
    headers: () => Record<string, string>,
  ): Response {
    try {
      const result = this.#state.withRequest(
        { id: requestId, idempotencyKey },
        () => routeApi(this.#state, method, path, params),
      );
      return new Response(JSON.stringify(result.body, null, 2), {
        status: result.status,
        headers: headers(),
      });
    } catch (error) {
      const apiError = error instanceof StripeApiError ? error : new StripeApiError(500, {
        type: "api_error",
        message: `The local Stripe emulator failed: ${
          error instanceof Error ? error.message : error
        }`,
      });
      if (!(error instanceof StripeApiError)) console.error(error);
      return new Response(
        JSON.stringify({ error: errorBody(apiError.body, requestId) }, null, 2),
        { status: apiError.status, headers: headers() },
      );
    }
  }

  /** The caller's secret key, or the 401 Stripe answers. */
  #authenticate(request: Request): string | StripeApiError {
    const header = request.headers.get("Authorization") ?? "";
    let key = "";
    if (header.startsWith("Bearer ")) key = header.slice(7).trim();
    else if (header.startsWith("Basic ")) {
      try {
        key = atob(header.slice(6).trim()).split(":")[0] ?? "";
      } catch {
        key = "";
      }
    }
    if (key === "") {
      return new StripeApiError(401, {
        type: "invalid_request_error",
        message:
          "You did not provide an API key. You need to provide your API key in the Authorization header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY'). See https://stripe.com/docs/api#authentication for details, or we can help at https://support.stripe.com/.",
      });
    }
    const expected = this.#options.secretKey;
    const valid = expected === undefined ? key.startsWith("sk_test_") : key === expected;
    if (!valid) {
      return new StripeApiError(401, {
        type: "invalid_request_error",
        code: "api_key_invalid",
        message: `Invalid API Key provided: ${redactKey(key)}`,
      });
    }
    return key;
  }

  #takeFault(method: string, path: string): Fault | undefined {
    const index = this.#faults.findIndex((fault) =>
      (fault.method === undefined || fault.method.toUpperCase() === method) &&
      (fault.path === undefined ||
        (typeof fault.path === "string" ? path.startsWith(fault.path) : fault.path.test(path)))
    );
    const fault = this.#faults[index];
    if (!fault) return undefined;
    fault.remaining -= 1;
    if (fault.remaining <= 0) this.#faults.splice(index, 1);
    return fault;
  }

  async #handleControl(request: Request, url: URL): Promise<Response> {
    const json = (body: unknown, status = 200) =>
      new Response(JSON.stringify(body, null, 2), { status, headers: JSON_HEADERS });
    const segments = url.pathname.split("/").filter((part) => part !== "").slice(1).map(
      decodeURIComponent,
    );
    const method = request.method.toUpperCase();
    let body: Record<string, unknown> = {};
    if (method === "POST") {
      const text = await request.text();
      if (text.trim() !== "") {
        try {
          const parsed = JSON.parse(text);
          if (parsed !== null && typeof parsed === "object" && !Array.isArray(parsed)) {
            body = parsed;
          } else return json({ error: "Expected a JSON object" }, 400);
        } catch {
          return json({ error: "Expected a JSON object" }, 400);
        }
      }
    }
    try {
      const [first, second, third, fourth] = segments;
      if (method === "GET" && first === "events" && second === undefined) {
        return json(this.events());
      }
      if (method === "GET" && first === "requests" && second === undefined) {
        return json(this.requests());
      }
      if (method === "GET" && first === "deliveries" && second === undefined) {
        return json(this.deliveries());
      }
      if (method === "POST" && first === "reset" && second === undefined) {
        this.reset();
        return json({ reset: true });
      }
      if (first === "faults" && second === undefined) {
        if (method === "DELETE") {
          this.#faults = [];
          return json({ faults: 0 });
        }
        if (method === "POST") {
          this.failNext(faultFromJson(body));
          return json({ faults: this.#faults.length });
        }
      }
      if (method === "POST" && first === "checkout" && second === "sessions" && third) {
        if (fourth === "complete") {
          const trialDays = body.trialDays;
          if (trialDays !== undefined && typeof trialDays !== "number") {
            return json({ error: `Expected "trialDays" to be a number` }, 400);
          }
          return json(this.completeCheckout(third, { trialDays }));
        }
        if (fourth === "expire") return json(this.expireCheckout(third));
      }
      if (method === "POST" && first === "subscriptions" && second && third) {
        const action = actionFromPath(third);
        if (action) return json(runAction(this.subscription(second), action, body));
      }
      return json({ error: `No control route for ${method} ${url.pathname}` }, 404);
    } catch (error) {
      if (error instanceof StripeApiError) return json({ error: error.body.message }, error.status);
      return json({ error: error instanceof Error ? error.message : String(error) }, 400);
    }
  }
}

/** Stripe's error body: the given fields plus `doc_url` and `request_log_url`. */
function errorBody(body: StripeErrorBody, requestId: string): Record<string, unknown> {
  return {
    ...(body.code ? { code: body.code } : {}),
    ...(body.decline_code ? { decline_code: body.decline_code } : {}),
    ...(body.code
      ? { doc_url: `https://stripe.com/docs/error-codes/${body.code.replaceAll("_", "-")}` }
      : {}),
    message: body.message,
    ...(body.param ? { param: body.param } : {}),
    request_log_url: `https://dashboard.stripe.com/test/logs/${requestId}?t=${
      Math.floor(Date.now() / 1000)
    }`,
    type: body.type,
  };
}

/** Stripe saves a result once the endpoint started executing; not for rejected parameters or 5xx. */
function shouldStore(status: number, body: string): boolean {
  if (status >= 500) return false;
  if (status !== 400) return true;
  return !/"code": "parameter_/.test(body);
}

function faultError(fault: Fault): StripeApiError {
  const status = fault.status ?? 500;
  const defaults: StripeErrorBody = status === 429
    ? {
      type: "invalid_request_error",
      code: "rate_limit",
      message:
        "Testing rate limit: too many requests hit the API too quickly. We recommend an exponential backoff of your requests.",
    }
    : status === 402
    ? {
      type: "card_error",
      code: "card_declined",
      decline_code: "generic_decline",
      message: "Your card was declined.",
    }
    : status === 401
    ? { type: "invalid_request_error", message: "Invalid API Key provided" }
    : status === 404
    ? { type: "invalid_request_error", code: "resource_missing", message: "No such object" }
    : status >= 500
    ? {
      type: "api_error",
      message: "An unknown error occurred while processing your request (injected fault).",
    }
    : { type: "invalid_request_error", message: "Injected fault" };
  return new StripeApiError(status, {
    ...defaults,
    ...(fault.error?.type ? { type: fault.error.type } : {}),
    ...(fault.error?.code ? { code: fault.error.code } : {}),
    ...(fault.error?.message ? { message: fault.error.message } : {}),
  });
}

/** A fault from control JSON: `path` is a prefix, `pathPattern` a RegExp source. */
function faultFromJson(body: Record<string, unknown>): Fault {
  const fault: Fault = {};
  if (typeof body.method === "string") fault.method = body.method;
  if (typeof body.path === "string") fault.path = body.path;
  if (typeof body.pathPattern === "string") fault.path = new RegExp(body.pathPattern);
  if (typeof body.status === "number") fault.status = body.status;
  if (typeof body.count === "number") fault.count = body.count;
  if (typeof body.delayMs === "number") fault.delayMs = body.delayMs;
  const error = body.error;
  if (error !== null && typeof error === "object") {
    const { type, code, message } = error as Record<string, unknown>;
    fault.error = {
      ...(type === "api_error" || type === "card_error" || type === "idempotency_error" ||
          type === "invalid_request_error"
        ? { type }
        : {}),
      ...(typeof code === "string" ? { code } : {}),
      ...(typeof message === "string" ? { message } : {}),
    };
  }
  if (fault.status === undefined && fault.delayMs === undefined) fault.status = 500;
  return fault;
}

function redactKey(key: string): string {
  if (key.length <= 12) return key.replace(/./g, "*");
  return `${key.slice(0, 8)}${"*".repeat(Math.max(0, key.length - 12))}${key.slice(-4)}`;
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
