/**
 * Hostile cases for the webhook's signature: forged, stale, malformed, or valid over another body.
 * A timestamp in the future is not among them: Stripe's SDK only bounds a signature's age
 * (now - t > tolerance), so a correctly signed future timestamp is accepted by design.
 */
import { signPayload } from "../../../dev/stripe/mod.ts";
import { STRIPE_SECRET_KEY } from "../harness.ts";
import { type CaseContext, type HostileCase, KIB, now, YEAR } from "./common.ts";
import { asWebhookCases, sampleEvent, v1Of, webhookRequest, type WebhookRow } from "./webhook.ts";

const SIG = "Invalid signature";

/** A sample event under a signature header that `signature` makes from its body. */
function badSignature(signature: (body: string, c: CaseContext) => Promise<string> | string) {
  return async (c: CaseContext): Promise<Request> => {
    const body = sampleEvent();
    return webhookRequest(body, await signature(body, c));
  };
}

/** A valid signature of a sample event over the event altered by `alter`. */
function replay(alter: (body: string) => string) {
  return async (c: CaseContext): Promise<Request> => {
    const body = sampleEvent();
    return webhookRequest(alter(body), await signPayload(body, c.webhookSecret));
  };
}

function stale(age: number) {
  return badSignature((body, c) => signPayload(body, c.webhookSecret, now() - age));
}

function otherSecret(secret: string) {
  return badSignature((body) => signPayload(body, secret));
}

/** Every signature case. */
export function webhookSignatureCases(): HostileCase[] {
  const rows: WebhookRow[] = [
    ["no stripe-signature header", 400, SIG, () => webhookRequest(sampleEvent(), null)],
    ["an empty stripe-signature header", 400, SIG, () => webhookRequest(sampleEvent(), "")],
    ["a garbage stripe-signature header", 400, SIG, () => webhookRequest(sampleEvent(), "garbage")],
    ["`t=` only", 400, SIG, () => webhookRequest(sampleEvent(), `t=${now()}`)],
    ["an empty `t=` and `v1=`", 400, SIG, () => webhookRequest(sampleEvent(), "t=,v1=")],
    [
      "`v1=` only, with a valid signature",
      400,
      SIG,
      badSignature(async (body, c) => `v1=${await v1Of(body, c.webhookSecret)}`),
    ],
    [
      "a v1 one hex digit short",
      400,
      SIG,
      badSignature(async (body, c) =>
        `t=${now()},v1=${(await v1Of(body, c.webhookSecret)).slice(0, 63)}`
      ),
    ],
    [
      "a v1 one hex digit long",
      400,
      SIG,
      badSignature(async (body, c) => `t=${now()},v1=${await v1Of(body, c.webhookSecret)}0`),
    ],
    [
      "a valid v1 in uppercase hex",
      400,
      SIG,
      badSignature(async (body, c) =>
        `t=${now()},v1=${(await v1Of(body, c.webhookSecret)).toUpperCase()}`
      ),
    ],
    ["a v1 that is not hex", 400, SIG, badSignature(() => `t=${now()},v1=${"z".repeat(64)}`)],
    ["a v1 in base64", 400, SIG, badSignature(() => `t=${now()},v1=${btoa("x".repeat(32))}`)],
    ["a signature with another endpoint's secret", 400, SIG, otherSecret("whsec_other_endpoint")],
    ["a signature with the API secret key", 400, SIG, otherSecret(STRIPE_SECRET_KEY)],
    ["a signature with the secret's prefix only", 400, SIG, otherSecret("whsec_")],
    [
      "a signature with the secret plus a newline",
      400,
      SIG,
      (c) => otherSecret(`${c.webhookSecret}\n`)(c),
    ],
    [
      "a signature with the secret without its prefix",
      400,
      SIG,
      (c) => otherSecret(c.webhookSecret.replace("whsec_", ""))(c),
    ],
    ["a timestamp 301 seconds old", 400, SIG, stale(301)],
    ["a timestamp a day old", 400, SIG, stale(24 * 3600)],
    ["a timestamp a year old", 400, SIG, stale(YEAR)],
    ["timestamp zero", 400, SIG, stale(now())],
    [
      "a negative timestamp",
      400,
      SIG,
      badSignature(async (body, c) => `t=-1,v1=${await v1Of(body, c.webhookSecret, -1)}`),
    ],
    [
      "a non-numeric timestamp",
      400,
      SIG,
      badSignature(async (body, c) => `t=abc,v1=${await v1Of(body, c.webhookSecret)}`),
    ],
    [
      "a valid signature under a different t",
      400,
      SIG,
      badSignature(async (body, c) =>
        `t=${now()},v1=${await v1Of(body, c.webhookSecret, now() - 10)}`
      ),
    ],
    [
      "a second, stale t after a valid signature",
      400,
      SIG,
      badSignature(async (body, c) =>
        `${await signPayload(body, c.webhookSecret)},t=${now() - 3600}`
      ),
    ],
    [
      "a space after the comma",
      400,
      SIG,
      badSignature(async (body, c) =>
        (await signPayload(body, c.webhookSecret)).replace(",", ", ")
      ),
    ],
    [
      "a semicolon instead of a comma",
      400,
      SIG,
      badSignature(async (body, c) => (await signPayload(body, c.webhookSecret)).replace(",", ";")),
    ],
    [
      "the scheme `v0=` only",
      400,
      SIG,
      badSignature(async (body, c) =>
        (await signPayload(body, c.webhookSecret)).replace("v1=", "v0=")
      ),
    ],
    [
      "the scheme `V1=` in uppercase",
      400,
      SIG,
      badSignature(async (body, c) =>
        (await signPayload(body, c.webhookSecret)).replace("v1=", "V1=")
      ),
    ],
    [
      "three v1 values, none matching",
      400,
      SIG,
      badSignature(() =>
        `t=${now()},v1=${"a".repeat(64)},v1=${"b".repeat(64)},v1=${"c".repeat(64)}`
      ),
    ],
    [
      "ten thousand v1 values, none matching",
      400,
      SIG,
      badSignature(() =>
        `t=${now()},${Array.from({ length: 10_000 }, () => `v1=${"d".repeat(64)}`).join(",")}`
      ),
    ],
    [
      "a 64 KiB signature header",
      400,
      SIG,
      badSignature(() => `t=${now()},v1=${"e".repeat(64 * KIB)}`),
    ],
    [
      "Latin-1 bytes in the signature header",
      400,
      SIG,
      badSignature(() => `t=${now()},v1=\u00e9\u00ff${"f".repeat(60)}`),
    ],
    [
      "a replayed signature over a body with one byte changed",
      400,
      SIG,
      replay((body) => body.replace("customer.updated", "customer.updatee")),
    ],
    ["a replayed signature over a body with a space appended", 400, SIG, replay((b) => `${b} `)],
    ["a replayed signature over a body with a newline appended", 400, SIG, replay((b) => `${b}\n`)],
    [
      "a replayed signature over the same JSON with keys reordered",
      400,
      SIG,
      replay((body) => {
        const event = JSON.parse(body) as Record<string, unknown>;
        return JSON.stringify(Object.fromEntries(Object.entries(event).reverse()));
      }),
    ],
    [
      "a replayed signature over the same JSON pretty-printed",
      400,
      SIG,
      replay((body) => JSON.stringify(JSON.parse(body), null, 2)),
    ],
    ["a replayed signature over another event", 400, SIG, replay(() => sampleEvent())],
  ];
  return asWebhookCases(rows);
}
