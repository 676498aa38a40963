/**
 * The control routes under `/_emulator/`: what tests and scripts do to the account that a
 * client of Stripe cannot (pay a session, renew a subscription, inject a fault). They answer
 * only a caller holding the emulator's secret key, like the API: a web page cannot add the
 * `Authorization` header to a cross-origin request without a preflight that is never granted.
 */
import { actionFromPath, runAction } from "./control.ts";
import type { StripeEmulator } from "./emulator.ts";
import { StripeApiError } from "./errors.ts";
import { faultFromJson } from "./faults.ts";

const JSON_HEADERS = { "Content-Type": "application/json" };

function json(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body, null, 2), { status, headers: JSON_HEADERS });
}

/** A control request's JSON body: an object, or nothing. */
async function readBody(request: Request): Promise<Record<string, unknown> | Response> {
  if (request.method.toUpperCase() !== "POST") return {};
  const text = await request.text();
  if (text.trim() === "") return {};
  try {
    const parsed = JSON.parse(text);
    if (parsed !== null && typeof parsed === "object" && !Array.isArray(parsed)) return parsed;
  } catch {
    // Answered below.
  }
  return json({ error: "Expected a JSON object" }, 400);
}

/** Answers one `/_emulator/...` request. */
export async function handleControl(
  emulator: StripeEmulator,
  request: Request,
  url: URL,
): Promise<Response> {
  const caller = emulator.authenticate(request);
  if (caller instanceof StripeApiError) return json({ error: caller.body.message }, 401);
  const method = request.method.toUpperCase();
  const body = await readBody(request);
  if (body instanceof Response) return body;
  const [first, second, third, fourth] = url.pathname.split("/").filter((part) => part !== "")
    .slice(1).map(decodeURIComponent);
  try {
    if (method === "GET" && first === "events" && second === undefined) {
      return json(emulator.events());
    }
    if (method === "GET" && first === "requests" && second === undefined) {
      return json(emulator.requests());
    }
    if (method === "GET" && first === "deliveries" && second === undefined) {
      return json(emulator.deliveries());
    }
    if (method === "POST" && first === "reset" && second === undefined) {
      emulator.reset();
      return json({ reset: true });
    }
    if (first === "faults" && second === undefined) {
      if (method === "DELETE") return json({ faults: emulator.clearFaults() });
      if (method === "POST") {
        emulator.failNext(faultFromJson(body));
        return json({ faults: emulator.pendingFaults });
      }
    }
    if (method === "POST" && first === "checkout" && second === "sessions" && third) {
      if (fourth === "complete") {
        const trialDays = body.trialDays;
        if (trialDays !== undefined && typeof trialDays !== "number") {
          return json({ error: `Expected "trialDays" to be a number` }, 400);
        }
        return json(emulator.completeCheckout(third, { trialDays }));
      }
      if (fourth === "expire") return json(emulator.expireCheckout(third));
    }
    if (method === "POST" && first === "subscriptions" && second && third) {
      const action = actionFromPath(third);
      if (action) return json(runAction(emulator.subscription(second), action, body));
    }
    return json({ error: `No control route for ${method} ${url.pathname}` }, 404);
  } catch (error) {
    if (error instanceof StripeApiError) return json({ error: error.body.message }, error.status);
    return json({ error: error instanceof Error ? error.message : String(error) }, 400);
  }
}
