/** Hostile cases with a valid token and a hostile body (checkout and portal). */
import {
  deepJson,
  encoder,
  type HostileCase,
  INVALID_UTF8,
  KIB,
  MIB,
  streamOf,
  type Target,
  withAuthorization,
} from "./common.ts";

/** Rows with a valid token and a hostile body: the body is ignored, so the user's 400 stands. */
export function bodyCases(target: Target): HostileCase[] {
  const rows: [string, () => RequestInit][] = [
    ["a 2 MiB body", () => ({ body: "x".repeat(2 * MIB) })],
    ["a body that is not UTF-8", () => ({ body: INVALID_UTF8 })],
    ["a body of 100 000 nested arrays", () => ({
      body: deepJson(100_000),
      headers: { "Content-Type": "application/json" },
    })],
    ["a body with `__proto__` and `constructor` keys", () => ({
      body: '{"__proto__":{"isAdmin":true},"constructor":{"prototype":{"polluted":1}}}',
      headers: { "Content-Type": "application/json" },
    })],
    ["a body overriding price, customer, mode and user", () => ({
      body: JSON.stringify({
        priceId: "price_attacker",
        price: "price_attacker",
        customer: "cus_attacker",
        mode: "payment",
        userId: crypto.randomUUID(),
        success_url: "https://attacker.example/",
      }),
      headers: { "Content-Type": "application/json" },
    })],
    ["a form-encoded body", () => ({
      body: "price=price_attacker&customer=cus_attacker",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
    })],
    ["a body that claims JSON and is not", () => ({
      body: "{not json",
      headers: { "Content-Type": "application/json" },
    })],
    ["a body of NUL bytes", () => ({ body: new Uint8Array(4 * KIB) })],
    ["a body stream that errors mid-way", () => ({
      body: streamOf([encoder.encode('{"priceId":')], "error"),
    })],
    ["an endless body stream", () => ({ body: streamOf([], "endless") })],
    ["a Content-Length that claims 10 bytes of a 100-byte body", () => ({
      body: "y".repeat(100),
      headers: { "Content-Length": "10" },
    })],
  ];
  return rows.map(([name, init]) => ({
    name: `a valid token with ${name}`,
    target,
    status: 400,
    error: (c) => c.acceptedMessage,
    build: (c) => withAuthorization(target, `Bearer ${c.user.token}`, init()),
  }));
}
