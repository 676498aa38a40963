import assert from "node:assert/strict";
import { DEFAULT_PRICE_ID, signPayload } from "../dev/stripe/mod.ts";
import type { Handler } from "../supabase/functions/_shared/http.ts";
import {
  buildHandlers,
  closeHarness,
  type Harness,
  harnessTest,
  jsonOf,
  SITE_URL,
  testAuthenticator,
  WEBHOOK_SECRET,
} from "./harness.ts";
import {
  type CaseContext,
  type ControlledKey,
  createControlledKey,
  Draw,
  FUZZ_HEADERS,
  FUZZ_OTHER_METHODS,
  type HostileCase,
  hostileCorpus,
  MESSAGES,
  requestTo,
  reshapedEvent,
  sampleEvent,
  type Target,
} from "./hostile_cases.ts";
import { mulberry32 } from "./history.ts";

const CASES = hostileCorpus();
const FUZZ_ITERATIONS = 1500;
const FUZZ_SEED = Number(Deno.env.get("HOSTILE_SEED") ?? "20260214");
const CASE_TIMEOUT_MS = 10_000;
const MIB = 1024 * 1024;

// ---- the environment the corpus runs in ---------------------------------------------------------

/** The handlers by target, the controlled ones built exactly as the harness builds its own. */
function handlersOf(h: Harness, controlled: ControlledKey): Record<Target, Handler> {
  const controlledHandlers = buildHandlers({
    authenticate: testAuthenticator(controlled.jwks, h.issuer),
    stripe: h.stripe,
    db: h.database,
    logger: h.logger,
  });
  return {
    checkout: h.checkout,
    portal: h.portal,
    webhook: h.webhook,
    "checkout-controlled": controlledHandlers.checkout,
    "portal-controlled": controlledHandlers.portal,
  };
}

interface Arena {
  handlers: Record<Target, Handler>;
  contexts: Record<Target, CaseContext>;
  controlled: ControlledKey;
}

/**
 * Makes the users the hostile requests aim at: one already subscribed (a valid token gets 400
 * "Already subscribed" from checkout) and one without a customer (400 from the portal). Neither
 * answer reaches Stripe or writes to the database.
 */
async function arena(h: Harness): Promise<Arena> {
  const subscribed = await h.createUser();
  await h
    .sql`update public.profiles set subscription_status = 'active' where id = ${subscribed.id}`;
  const withoutCustomer = await h.createUser();
  const controlled = await createControlledKey();
  const base = { issuer: h.issuer, controlled, webhookSecret: WEBHOOK_SECRET };
  const checkout = { ...base, user: subscribed, acceptedMessage: "Already subscribed" };
  const portal = { ...base, user: withoutCustomer, acceptedMessage: "No active subscription" };
  return {
    handlers: handlersOf(h, controlled),
    contexts: {
      checkout,
      portal,
      webhook: checkout,
      "checkout-controlled": checkout,
      "portal-controlled": portal,
    },
    controlled,
  };
}

/** A digest of every row the functions could write, and of the users they read. */
async function databaseDigest(h: Harness): Promise<string> {
  const [row] = await h.sql<{ profiles: string; events: string; users: string }[]>`
    select
      (select md5(coalesce(string_agg(t::text, '|' order by t::text), ''))
         from public.profiles t) as profiles,
      (select md5(coalesce(string_agg(t::text, '|' order by t::text), ''))
         from public.stripe_events t) as events,
      (select md5(coalesce(string_agg(t::text, '|' order by t::text), ''))
         from auth.users t) as users`;
  assert.ok(row);
  return `profiles ${row.profiles}, stripe_events ${row.events}, auth.users ${row.users}`;
}

/** Answers `request`, or throws when no answer comes within {@link CASE_TIMEOUT_MS}. */
async function answer(handler: Handler, request: Request): Promise<Response> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error("no answer in time")), CASE_TIMEOUT_MS);
  });
  try {
    return await Promise.race([handler(request), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The rules every answer keeps, whatever was sent: no 5xx, CORS, and a refusal's body is exactly
 * `{"error": "<short sentence>"}`. Returns the refusal's message (null for 2xx and HEAD).
 */
async function checkAnswer(
  response: Response,
  method: string,
): Promise<{ problems: string[]; message: string | null }> {
  const problems: string[] = [];
  if (response.status >= 500) problems.push(`status ${response.status}`);
  if (response.headers.get("access-control-allow-origin") !== "*") {
    problems.push("no Access-Control-Allow-Origin: *");
  }
  const text = await response.text();
  if (method === "HEAD" || (response.status >= 200 && response.status < 300)) {
    return { problems, message: null };
  }
  if (response.headers.get("content-type") !== "application/json") {
    problems.push(`content-type ${response.headers.get("content-type")}`);
  }
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    problems.push(`a body that is not JSON: ${text.slice(0, 200)}`);
    return { problems, message: null };
  }
  const keys = typeof body === "object" && body !== null ? Object.keys(body) : [];
  const message = keys.length === 1 && keys[0] === "error"
    ? (body as { error: unknown }).error
    : undefined;
  if (typeof message !== "string" || message === "" || message.length > 120 || /\n/.test(message)) {
    problems.push(`a body that is not a bare {"error": sentence}: ${text.slice(0, 200)}`);
    return { problems, message: null };
  }
  return { problems, message };
}

/** Fires one corpus case; returns what is wrong with its answer. */
async function fire(arena: Arena, row: HostileCase): Promise<string[]> {
  const context = arena.contexts[row.target];
  let request: Request;
  try {
    request = await row.build(context);
  } catch (error) {
    return [`the request could not be built: ${error}`];
  }
  const method = request.method;
  let response: Response;
  try {
    response = await answer(arena.handlers[row.target], request);
  } catch (error) {
    return [`the handler threw: ${error}`];
  }
  const problems: string[] = [];
  if (response.status !== row.status) problems.push(`status ${response.status}, not ${row.status}`);
  const checked = await checkAnswer(response, method);
  problems.push(...checked.problems);
  if (method !== "HEAD" && checked.message !== null) {
    const expected = typeof row.error === "function" ? row.error(context) : row.error;
    const allowed = expected === undefined ? MESSAGES[row.status] ?? [] : [expected];
    if (!allowed.includes(checked.message)) {
      problems.push(`message "${checked.message}", expected one of ${JSON.stringify(allowed)}`);
    }
  }
  return problems;
}

/** Checks that the tokens the corpus mutates are valid, so each refusal is the mutation's doing. */
async function assertBaselinesAccepted(a: Arena): Promise<void> {
  for (const target of ["checkout", "portal"] as const) {
    const { user, acceptedMessage } = a.contexts[target];
    const request = requestTo(target, { headers: { Authorization: `Bearer ${user.token}` } });
    const response = await a.handlers[target](request);
    assert.equal(response.status, 400, `${target} baseline`);
    assert.deepEqual(await response.json(), { error: acceptedMessage });
  }
  for (const target of ["checkout-controlled", "portal-controlled"] as const) {
    const { user, acceptedMessage, issuer } = a.contexts[target];
    const issued = Math.floor(Date.now() / 1000);
    const token = await a.controlled.sign({ alg: "ES256", kid: a.controlled.kid, typ: "JWT" }, {
      aud: "authenticated",
      role: "authenticated",
      sub: user.id,
      iss: issuer.issuer,
      iat: issued,
      exp: issued + 3600,
    });
    const request = requestTo(target, { headers: { Authorization: `Bearer ${token}` } });
    const response = await a.handlers[target](request);
    assert.equal(response.status, 400, `${target} baseline`);
    assert.deepEqual(await response.json(), { error: acceptedMessage });
  }
}

// ---- the corpus ---------------------------------------------------------------------------------

harnessTest(
  `the hostile corpus: all ${CASES.length} requests get a 4xx with a bare error body and CORS, ` +
    "and change nothing",
  async (h) => {
    assert.ok(CASES.length >= 150, `only ${CASES.length} cases`);
    const names = CASES.map((row) => `${row.target}: ${row.name}`);
    assert.equal(new Set(names).size, names.length, "case names repeat");

    const a = await arena(h);
    await assertBaselinesAccepted(a);
    const digest = await databaseDigest(h);
    const stripeCalls = h.emulator.requests().length;

    const failures: string[] = [];
    for (const target of ["checkout", "portal", "webhook", "checkout-controlled"] as const) {
      const batch = CASES.filter((row) =>
        row.target === target ||
        (target === "checkout-controlled" && row.target === "portal-controlled")
      );
      for (const row of batch) {
        const problems = await fire(a, row);
        if (problems.length > 0) {
          failures.push(`${row.target}: ${row.name}: ${problems.join("; ")}`);
        }
      }
      assert.equal(await databaseDigest(h), digest, `the ${target} batch changed the database`);
      assert.equal(h.emulator.requests().length, stripeCalls, `the ${target} batch called Stripe`);
    }
    assert.deepEqual(failures, [], `${failures.length} of ${CASES.length} cases failed`);
  },
);

// ---- bodies a valid caller may send: ignored ----------------------------------------------------

const IGNORED_BODIES: [string, () => RequestInit][] = [
  ["overrides of price, customer, mode and URLs", () => ({
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({
      priceId: "price_attacker",
      price: "price_attacker",
      line_items: [{ price: "price_attacker", quantity: 100 }],
      customer: "cus_attacker",
      mode: "payment",
      success_url: "https://attacker.example/",
      return_url: "https://attacker.example/",
    }),
  })],
  ["`__proto__` and `constructor` keys", () => ({
    headers: { "Content-Type": "application/json" },
    body: '{"__proto__":{"priceId":"price_attacker"},"constructor":{"prototype":{"x":1}}}',
  })],
  ["a 2 MiB body", () => ({ body: "x".repeat(2 * MIB) })],
  ["a body that is not UTF-8", () => ({ body: new Uint8Array([0xff, 0xfe, 0xc3, 0x28]) })],
  ["100 000 nested arrays", () => ({ body: "[".repeat(100_000) + "]".repeat(100_000) })],
  ["a form-encoded override", () => ({
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: "price=price_attacker&customer=cus_attacker",
  })],
];

harnessTest(
  "stripe-checkout and stripe-portal ignore hostile bodies from a valid caller: Stripe gets our own parameters",
  async (h) => {
    const user = await h.createUser();
    for (const [name, init] of IGNORED_BODIES) {
      const response = await h.post(h.checkout, user.token, init());
      assert.equal(response.status, 200, `checkout with ${name}`);
      assert.equal(response.headers.get("access-control-allow-origin"), "*");
      assert.ok(typeof (await jsonOf(response)).url === "string");
    }
    const customerId = (await h.profile(user.id)).stripe_customer_id;
    assert.ok(customerId);
    const sessions = h.emulator.requests().filter((request) =>
      request.method === "POST" && request.path === "/v1/checkout/sessions" &&
      request.params.client_reference_id === user.id
    );
    assert.equal(sessions.length, IGNORED_BODIES.length);
    for (const { params } of sessions) {
      assert.equal(params.mode, "subscription");
      assert.deepEqual(params.line_items, [{ price: DEFAULT_PRICE_ID, quantity: "1" }]);
      assert.equal(params.customer, customerId);
      assert.deepEqual(params.metadata, { userId: user.id, email: user.email });
      assert.equal(params.cancel_url, `${SITE_URL}/dashboard?checkout=canceled`);
      assert.ok(String(params.success_url).startsWith(`${SITE_URL}/dashboard?`));
    }
    const customers = h.emulator.requests().filter((request) =>
      request.method === "POST" && request.path === "/v1/customers" &&
      JSON.stringify(request.params.metadata) === JSON.stringify({ userId: user.id })
    );
    assert.equal(customers.length, 1, "one customer, whatever the bodies said");

    for (const [name, init] of IGNORED_BODIES) {
      const response = await h.post(h.portal, user.token, init());
      assert.equal(response.status, 200, `portal with ${name}`);
      assert.equal(response.headers.get("access-control-allow-origin"), "*");
      assert.ok(typeof (await jsonOf(response)).url === "string");
    }
    const portals = h.emulator.requests().filter((request) =>
      request.method === "POST" && request.path === "/v1/billing_portal/sessions" &&
      request.params.customer === customerId
    );
    assert.equal(portals.length, IGNORED_BODIES.length);
    for (const { params } of portals) {
      assert.deepEqual(params, { customer: customerId, return_url: `${SITE_URL}/dashboard` });
    }
  },
);

// ---- the fuzz loop ------------------------------------------------------------------------------

/** One random request to `target`, mutated from a valid one. */
async function fuzzRequest(draw: Draw, target: Target, a: Arena): Promise<Request> {
  const method = draw.chance(0.8) ? "POST" : draw.pick(FUZZ_OTHER_METHODS);
  const headers = new Headers();
  let body: BodyInit | undefined;
  if (target === "webhook") {
    const reshaped = draw.chance(0.2);
    let payload: string | Uint8Array<ArrayBuffer> = reshaped ? reshapedEvent(draw) : sampleEvent();
    let signature = await signPayload(
      payload,
      WEBHOOK_SECRET,
      draw.chance(0.1) ? Math.floor(Date.now() / 1000) - draw.int(100_000) : undefined,
    );
    // A reshaped event keeps its valid signature: it tests what follows the signature check.
    const roll = reshaped ? 1 : draw.random();
    if (roll < 0.35) signature = draw.mutateText(signature, 6);
    else if (roll < 0.65) payload = draw.flipBytes(new TextEncoder().encode(payload));
    else if (roll < 0.75) signature = draw.headerText(200);
    else if (roll < 0.85) payload = draw.bytes(draw.int(4096));
    if (draw.chance(0.005)) payload = draw.bytes(MIB + draw.int(1024));
    if (!draw.chance(0.05)) headers.set("Stripe-Signature", signature);
    headers.set("Content-Type", "application/json");
    body = payload;
  } else {
    const { user } = a.contexts[target];
    const roll = draw.random();
    if (roll < 0.55) headers.set("Authorization", `Bearer ${draw.mutateText(user.token, 6)}`);
    else if (roll < 0.7) headers.set("Authorization", draw.mutateText(`Bearer ${user.token}`, 3));
    else if (roll < 0.8) headers.set("Authorization", draw.headerText(300));
    else if (roll < 0.9) headers.set("Authorization", `Bearer ${user.token}`);
    const bodyRoll = draw.random();
    if (bodyRoll < 0.4) body = draw.bytes(draw.int(4096));
    else if (bodyRoll < 0.6) {
      body = JSON.stringify({ priceId: draw.headerText(20), n: draw.int(9) });
    } else if (bodyRoll < 0.61) body = draw.bytes(MIB + draw.int(1024));
  }
  for (let i = 0, n = draw.int(4); i < n; i++) {
    headers.append(draw.pick(FUZZ_HEADERS), draw.headerText(60));
  }
  if (method === "GET" || method === "HEAD") body = undefined;
  return requestTo(target, { method, headers, body });
}

harnessTest(
  `fuzzing: ${FUZZ_ITERATIONS} mutated requests (seed ${FUZZ_SEED}) never get a 5xx, always get CORS and a bare error body, and change nothing`,
  async (h) => {
    const a = await arena(h);
    const digest = await databaseDigest(h);
    const stripeCalls = h.emulator.requests().length;
    const draw = new Draw(mulberry32(FUZZ_SEED));
    const targets = ["checkout", "portal", "webhook"] as const;
    const failures: string[] = [];
    const statuses = new Map<string, number>();
    for (let i = 0; i < FUZZ_ITERATIONS; i++) {
      const target = targets[i % targets.length] ?? "checkout";
      const request = await fuzzRequest(draw, target, a);
      const method = request.method;
      let response: Response;
      try {
        response = await answer(a.handlers[target], request);
      } catch (error) {
        failures.push(`#${i} ${target} ${method}: the handler threw: ${error}`);
        continue;
      }
      const status = response.status;
      const key = `${target} ${status}`;
      statuses.set(key, (statuses.get(key) ?? 0) + 1);
      const { problems } = await checkAnswer(response, method);
      const success = status >= 200 && status < 300;
      if (success && method !== "OPTIONS" && target !== "webhook") {
        problems.push(`unexpected ${status}`);
      }
      if (problems.length > 0) failures.push(`#${i} ${target} ${method}: ${problems.join("; ")}`);
    }
    const seen = [...statuses].map(([key, count]) => `${key}: ${count}`).join(", ");
    assert.deepEqual(failures, [], `seed ${FUZZ_SEED} (HOSTILE_SEED to replay); statuses ${seen}`);
    assert.equal(await databaseDigest(h), digest, `seed ${FUZZ_SEED}: the database changed`);
    assert.equal(h.emulator.requests().length, stripeCalls, `seed ${FUZZ_SEED}: Stripe was called`);
    // The loop reached every kind of answer, so it tested more than the outer layers.
    for (
      const expected of ["checkout 400", "checkout 401", "portal 400", "portal 405", "webhook 200"]
    ) {
      assert.ok(statuses.has(expected), `seed ${FUZZ_SEED}: no "${expected}" among ${seen}`);
    }
  },
);

closeHarness();
