import assert from "node:assert/strict";
import { DEFAULT_PRICE_ID, startStripeEmulator } from "../../dev/stripe/mod.ts";
import { clientFor, rejects, SECRET_KEY, setup, Stripe, withEmulator } from "./support.ts";

Deno.test("a missing object is a resource_missing invalid request error", async () => {
  const { stripe, close } = await setup();
  try {
    const customer = await rejects(
      stripe.customers.retrieve("cus_missing"),
      Stripe.errors.StripeInvalidRequestError,
    );
    assert.equal(customer.statusCode, 404);
    assert.equal(customer.code, "resource_missing");
    assert.equal(customer.message, "No such customer: 'cus_missing'");
    assert.match(customer.requestId ?? "", /^req_/);

    for (
      const call of [
        () => stripe.subscriptions.retrieve("sub_missing"),
        () => stripe.invoices.retrieve("in_missing"),
        () => stripe.checkout.sessions.retrieve("cs_test_missing"),
        () => stripe.prices.retrieve("price_missing"),
        () => stripe.events.retrieve("evt_missing"),
      ]
    ) {
      const error = await rejects(call(), Stripe.errors.StripeInvalidRequestError);
      assert.equal(error.code, "resource_missing");
    }
  } finally {
    await close();
  }
});

Deno.test("a wrong or missing secret key is an authentication error", async () => {
  const running = await startStripeEmulator({ secretKey: SECRET_KEY });
  try {
    const error = await rejects(
      clientFor(running, "sk_test_wrong").customers.create({}),
      Stripe.errors.StripeAuthenticationError,
    );
    assert.equal(error.statusCode, 401);

    const response = await fetch(`${running.url}/v1/customers`);
    assert.equal(response.status, 401);
    const body = await response.json();
    assert.equal(body.error.type, "invalid_request_error");
    assert.match(body.error.message, /You did not provide an API key/);
  } finally {
    await running.close();
  }
});

Deno.test("responses carry Request-Id and echo Stripe-Version", async () => {
  const { url, close } = await setup();
  try {
    const response = await fetch(`${url}/v1/prices/${DEFAULT_PRICE_ID}`, {
      headers: { Authorization: `Bearer ${SECRET_KEY}`, "Stripe-Version": "2026-10-28.endive" },
    });
    assert.equal(response.status, 200);
    assert.match(response.headers.get("request-id") ?? "", /^req_/);
    assert.equal(response.headers.get("stripe-version"), "2026-10-28.endive");
    assert.equal(response.headers.get("content-type"), "application/json");
    const price = await response.json();
    assert.equal(price.id, DEFAULT_PRICE_ID);
    assert.equal(price.product, "prod_local_pro");
    assert.equal(price.unit_amount, 1000);
    assert.equal(price.unit_amount_decimal, "1000");
    assert.deepEqual(price.recurring, {
      interval: "month",
      interval_count: 1,
      meter: null,
      trial_period_days: null,
      usage_type: "licensed",
    });
  } finally {
    await close();
  }
});

/** Sends a GET with a `Host` header of our choosing (fetch would put the URL's host). */
async function getWithHost(url: string, path: string, host: string): Promise<string> {
  const connection = await Deno.connect({ hostname: "127.0.0.1", port: Number(new URL(url).port) });
  try {
    const request = `GET ${path} HTTP/1.1\r\nHost: ${host}\r\n` +
      `Authorization: Bearer ${SECRET_KEY}\r\nConnection: close\r\n\r\n`;
    await connection.write(new TextEncoder().encode(request));
    let text = "";
    const decoder = new TextDecoder();
    const buffer = new Uint8Array(4096);
    for (
      let read = await connection.read(buffer);
      read !== null;
      read = await connection.read(buffer)
    ) {
      text += decoder.decode(buffer.subarray(0, read), { stream: true });
    }
    return text;
  } finally {
    connection.close();
  }
}

Deno.test("a request for another host name is refused, so DNS rebinding cannot reach the emulator", async () => {
  await withEmulator({}, async ({ url }) => {
    const port = new URL(url).port;
    for (const host of ["attacker.example", "127.0.0.1.attacker.example"]) {
      const answer = await getWithHost(url, "/v1/customers", `${host}:${port}`);
      assert.match(answer, /^HTTP\/1\.1 403 /, host);
      assert.match(answer, /are not answered here/);
    }
    const local = await getWithHost(url, "/v1/customers", `localhost:${port}`);
    assert.match(local, /^HTTP\/1\.1 200 /);
  });
});

Deno.test("latencyMs delays every API answer and leaves pages and control routes alone", async () => {
  await withEmulator({ latencyMs: 150 }, async ({ stripe, url }) => {
    const started = performance.now();
    await stripe.prices.retrieve(DEFAULT_PRICE_ID);
    // A lower bound only: the answer cannot come sooner than the configured wait.
    assert.ok(performance.now() - started >= 140, "the API answered before its latency");
    const control = await fetch(`${url}/_emulator/events`, {
      headers: { Authorization: `Bearer ${SECRET_KEY}` },
    });
    assert.equal(control.status, 200);
    await control.body?.cancel();
  });
});

Deno.test("an unknown API route answers Stripe's 404 with the method and path", async () => {
  await withEmulator({}, async ({ url }) => {
    const response = await fetch(`${url}/v1/charges`, {
      headers: { Authorization: `Bearer ${SECRET_KEY}` },
    });
    assert.equal(response.status, 404);
    const body = await response.json();
    assert.equal(body.error.type, "invalid_request_error");
    assert.match(body.error.message, /^Unrecognized request URL \(GET: \/v1\/charges\)/);
  });
});

Deno.test("with a live-mode key the account is in live mode and its objects say so", async () => {
  await withEmulator({ secretKey: "sk_live_emulator" }, async ({ stripe, url, emulator }) => {
    const customer = await stripe.customers.create({ email: "ada@example.com" });
    assert.equal(customer.livemode, true);
    const price = await stripe.prices.retrieve(DEFAULT_PRICE_ID);
    assert.equal(price.livemode, true);
    const session = await stripe.checkout.sessions.create({
      mode: "subscription",
      line_items: [{ price: DEFAULT_PRICE_ID, quantity: 1 }],
      customer: customer.id,
      success_url: "http://localhost:3000/dashboard",
    });
    assert.match(session.id, /^cs_live_/);
    assert.equal(session.livemode, true);
    const subscription = emulator.completeCheckout(session.id);
    assert.equal(subscription.livemode, true);
    assert.ok(emulator.events().every((event) => event.livemode));
    const test = await fetch(`${url}/v1/customers`, {
      headers: { Authorization: `Bearer ${SECRET_KEY}` },
    });
    assert.equal(test.status, 401);
    const error = (await test.json()).error;
    assert.match(error.request_log_url, /^https:\/\/dashboard\.stripe\.com\/logs\//);
  });
});

Deno.test("a request body over 1 MiB is refused with 413, and a __proto__ parameter is unknown", async () => {
  await withEmulator({}, async ({ url }) => {
    const big = await fetch(`${url}/v1/customers`, {
      method: "POST",
      headers: {
        Authorization: `Bearer ${SECRET_KEY}`,
        "Content-Type": "application/x-www-form-urlencoded",
      },
      body: `description=${"x".repeat(1024 * 1024 + 1)}`,
    });
    assert.equal(big.status, 413);
    assert.equal((await big.json()).error.type, "invalid_request_error");

    const sneaky = await fetch(`${url}/v1/customers`, {
      method: "POST",
      headers: {
        Authorization: `Bearer ${SECRET_KEY}`,
        "Content-Type": "application/x-www-form-urlencoded",
      },
      body: "__proto__[email]=x&metadata[__proto__]=kept",
    });
    assert.equal(sneaky.status, 400);
    assert.equal((await sneaky.json()).error.code, "parameter_unknown");
    const kept = await fetch(`${url}/v1/customers`, {
      method: "POST",
      headers: {
        Authorization: `Bearer ${SECRET_KEY}`,
        "Content-Type": "application/x-www-form-urlencoded",
      },
      body: "metadata[__proto__]=kept",
    });
    assert.equal(kept.status, 200);
    const customer = await kept.json();
    assert.ok(Object.hasOwn(customer.metadata, "__proto__"));
    assert.equal(customer.metadata["__proto__"], "kept");
  });
});

Deno.test("a path with malformed escapes is answered, not a crash", async () => {
  await withEmulator({}, async ({ url }) => {
    const headers = { Authorization: `Bearer ${SECRET_KEY}` };
    const api = await fetch(`${url}/v1/customers/%E0%A4%A`, { headers });
    assert.equal(api.status, 404);
    assert.equal((await api.json()).error.type, "invalid_request_error");
    const control = await fetch(`${url}/_emulator/subscriptions/%E0/renew`, {
      method: "POST",
      headers,
    });
    assert.equal(control.status, 400);
    await control.body?.cancel();
    const page = await fetch(`${url}/c/pay/%E0`);
    assert.equal(page.status, 404);
    await page.body?.cancel();
  });
});
