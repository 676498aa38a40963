/**
 * Assertions on the functions' answers: every answer is JSON with CORS, asserted in the house
 * order (the status, then the headers, then the body).
 */
import assert from "node:assert/strict";

/** Asserts the status and the JSON and CORS headers; returns the body. */
export async function answerOf(
  response: Response,
  status: number,
): Promise<Record<string, unknown>> {
  assert.equal(response.status, status);
  assert.equal(response.headers.get("content-type"), "application/json");
  assert.equal(response.headers.get("access-control-allow-origin"), "*");
  return await response.json() as Record<string, unknown>;
}

/** Asserts the status, the JSON and CORS headers, and exactly this body. */
export async function assertAnswer(
  response: Response,
  status: number,
  body: Record<string, unknown>,
): Promise<void> {
  assert.deepEqual(await answerOf(response, status), body);
}

/** Asserts an error answer (status, JSON and CORS, a body of only `error`); returns the message. */
export async function errorOf(response: Response, status: number): Promise<string> {
  const body = await answerOf(response, status);
  assert.deepEqual(Object.keys(body), ["error"]);
  assert.equal(typeof body.error, "string");
  return body.error as string;
}

/** The request headers a browser's preflight asks for when supabase-js calls a function. */
const CLIENT_HEADERS = ["authorization", "content-type", "apikey", "x-client-info"];

/** Asserts the answer to a CORS preflight: 204, POST allowed with the client's headers, no body. */
export async function assertPreflight(response: Response): Promise<void> {
  assert.equal(response.status, 204);
  assert.equal(response.headers.get("access-control-allow-origin"), "*");
  const methods = response.headers.get("access-control-allow-methods") ?? "";
  assert.match(methods, /\bPOST\b/);
  assert.match(methods, /\bOPTIONS\b/);
  const allowed = (response.headers.get("access-control-allow-headers") ?? "")
    .split(",").map((name) => name.trim().toLowerCase());
  for (const name of CLIENT_HEADERS) {
    assert.ok(allowed.includes(name), `Access-Control-Allow-Headers lacks ${name}`);
  }
  assert.equal(await response.text(), "");
}
