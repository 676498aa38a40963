/**
 * The control routes under `/_emulator/`: what tests and scripts do to the account that a
 * client of Stripe cannot (pay a session, renew a subscription, inject a fault). They answer
 * only a caller holding the emulator's secret key, like the API: a web page cannot add the
 * `Authorization` header to a cross-origin request without a preflight that is never granted.
 */
import type { Stripe } from "../../supabase/functions/_shared/stripe.ts";
import { readBody } from "./body.ts";
import { actionFromPath, runAction } from "./control.ts";
import type { StripeEmulator } from "./emulator.ts";
import { StripeApiError } from "./errors.ts";
import { faultFromJson } from "./faults.ts";
import { decodeSegment } from "./form.ts";
import type { SeedCustomer, SeedOptions } from "./seeding.ts";
import type { HandEdit } from "./subscriptions.ts";

const JSON_HEADERS = { "Content-Type": "application/json" };

function json(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body, null, 2), { status, headers: JSON_HEADERS });
}

/** A control request's JSON body: an object, or nothing. */
async function readJson(request: Request): Promise<Record<string, unknown> | Response> {
  if (request.method.toUpperCase() !== "POST") return {};
  const text = await readBody(request);
  if (text.trim() === "") return {};
  try {
    const parsed = JSON.parse(text);
    if (parsed !== null && typeof parsed === "object" && !Array.isArray(parsed)) return parsed;
  } catch {
    // Answered below.
  }
  return json({ error: "Expected a JSON object" }, 400);
}

/** A control body that does not have the expected shape. */
class BodyError extends Error {}

/** Reads an optional field of a control body, checked with `is` (`expected` names the type). */
function field<T>(
  body: Record<string, unknown>,
  key: string,
  is: (value: unknown) => value is T,
  expected: string,
): T | undefined {
  const value = body[key];
  if (value === undefined) return undefined;
  if (!is(value)) throw new BodyError(`Expected "${key}" to be ${expected}`);
  return value;
}

const isNumber = (value: unknown): value is number =>
  typeof value === "number" && Number.isFinite(value);
const isString = (value: unknown): value is string => typeof value === "string";
const isBoolean = (value: unknown): value is boolean => typeof value === "boolean";
const isNumberOrNull = (value: unknown): value is number | null =>
  value === null || isNumber(value);
const isStatus = (value: unknown): value is Stripe.Subscription.Status => isString(value);
const isObject = (value: unknown): value is Record<string, unknown> =>
  value !== null && typeof value === "object" && !Array.isArray(value);
const isStringMap = (value: unknown): value is Record<string, string> =>
  isObject(value) && Object.values(value).every(isString);
const isMetadataUpdate = (value: unknown): value is Record<string, string | null> =>
  isObject(value) && Object.values(value).every((entry) => entry === null || isString(entry));

function readHandEdit(body: Record<string, unknown>): HandEdit {
  return {
    status: field(body, "status", isStatus, "a subscription status"),
    price: field(body, "price", isString, "a price id"),
    quantity: field(body, "quantity", isNumber, "a number"),
    cancelAtPeriodEnd: field(body, "cancelAtPeriodEnd", isBoolean, "a boolean"),
    cancelAt: field(body, "cancelAt", isNumberOrNull, "a timestamp in seconds or null"),
    metadata: field(body, "metadata", isMetadataUpdate, "an object of strings or nulls"),
    currentPeriodEnd: field(body, "currentPeriodEnd", isNumber, "a timestamp in seconds"),
    trialEnd: field(body, "trialEnd", isNumberOrNull, "a timestamp in seconds or null"),
  };
}

function readSeedCustomer(value: unknown): SeedCustomer {
  if (!isObject(value)) throw new BodyError(`Expected each of "customers" to be an object`);
  return {
    email: field(value, "email", isString, "a string"),
    name: field(value, "name", isString, "a string"),
    metadata: field(value, "metadata", isStringMap, "an object of strings"),
    subscriptionMetadata: field(
      value,
      "subscriptionMetadata",
      isStringMap,
      "an object of strings",
    ),
    price: field(value, "price", isString, "a price id"),
    status: field(value, "status", isStatus, "a subscription status"),
    trialDays: field(value, "trialDays", isNumber, "a number"),
  };
}

function readSeed(body: Record<string, unknown>): SeedOptions {
  const customers = field(body, "customers", Array.isArray, "an array");
  const count = field(body, "count", isNumber, "a number");
  if (count !== undefined && (!Number.isInteger(count) || count < 0 || count > 100_000)) {
    throw new BodyError(`Expected "count" to be a whole number from 0 to 100000`);
  }
  return {
    count,
    customers: customers?.map(readSeedCustomer),
    price: field(body, "price", isString, "a price id"),
    status: field(body, "status", isStatus, "a subscription status"),
    trialDays: field(body, "trialDays", isNumber, "a number"),
    events: field(body, "events", isBoolean, "a boolean"),
  };
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
  const body = await readJson(request);
  if (body instanceof Response) return body;
  const segments = url.pathname.split("/").filter((part) => part !== "").slice(1)
    .map(decodeSegment);
  if (segments.includes(null)) return json({ error: "Malformed path" }, 400);
  const [first, second, third, fourth] = segments;
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
        return json(emulator.completeCheckout(third, {
          trialDays: field(body, "trialDays", isNumber, "a number"),
          promotionCode: field(body, "promotionCode", isString, "a string"),
          card: field(body, "card", isBoolean, "a boolean"),
          name: field(body, "name", isString, "a string"),
        }));
      }
      if (fourth === "expire") return json(emulator.expireCheckout(third));
    }
    if (method === "POST" && first === "subscriptions" && second && third === "edit") {
      return json(emulator.handEdit(second, readHandEdit(body)));
    }
    if (method === "POST" && first === "subscriptions" && second && third) {
      const action = actionFromPath(third);
      if (action) return json(runAction(emulator.subscription(second), action, body));
    }
    if (first === "clock" && second === undefined && method === "GET") {
      return json({ now: emulator.now() });
    }
    if (method === "POST" && first === "clock" && second === "advance" && third === undefined) {
      const seconds = field(body, "seconds", isNumber, "a number of seconds");
      if (seconds === undefined) throw new BodyError(`Expected "seconds"`);
      return json(emulator.advanceClock(seconds));
    }
    if (first === "outage" && second === undefined) {
      if (method === "POST") {
        const dropping = field(body, "dropping", isBoolean, "a boolean");
        if (dropping === undefined) throw new BodyError(`Expected "dropping"`);
        emulator.setOutage(dropping);
      }
      if (method === "POST" || method === "GET") return json({ dropping: emulator.outage });
    }
    if (method === "POST" && first === "seed" && second === undefined) {
      return json(emulator.seed(readSeed(body)));
    }
    if (method === "POST" && first === "prices" && second && third === "delete") {
      return json(emulator.deletePrice(second));
    }
    return json({ error: `No control route for ${method} ${url.pathname}` }, 404);
  } catch (error) {
    if (error instanceof StripeApiError) return json({ error: error.body.message }, error.status);
    if (error instanceof BodyError) return json({ error: error.message }, 400);
    return json({ error: error instanceof Error ? error.message : String(error) }, 400);
  }
}
