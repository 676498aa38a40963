/**
 * Hostile cases for the webhook's body: empty, too large (declared or streamed), of odd content
 * types and encodings, unreadable, or validly signed and not a Stripe event.
 */
import {
  deepJson,
  encoder,
  type HostileCase,
  INVALID_UTF8,
  KIB,
  MIB,
  now,
  streamOf,
} from "./common.ts";
import {
  asWebhookCases,
  hmacHex,
  sampleEvent,
  signedBody,
  webhookRequest,
  type WebhookRow,
} from "./webhook.ts";

const SIG = "Invalid signature";
const PAYLOAD = "Invalid payload";
const LARGE = "Payload too large";

/** A sample event with a bad signature under `contentType` (none when null). */
function badContentType(contentType: string | null) {
  return () =>
    webhookRequest(
      sampleEvent(),
      `t=${now()},v1=${"0".repeat(64)}`,
      contentType === null ? {} : { "Content-Type": contentType },
    );
}

/** Every body case. */
export function webhookBodyCases(): HostileCase[] {
  const rows: WebhookRow[] = [
    ["a valid signature for an empty body", 400, SIG, signedBody("")],
    ["a bad signature on an empty body", 400, SIG, () => webhookRequest(null, `t=${now()},v1=00`)],
    [
      "a body of exactly 1 MiB with a bad signature",
      400,
      SIG,
      () => webhookRequest("x".repeat(MIB), `t=${now()},v1=00`),
    ],
    [
      "a body over 1 MiB with its Content-Length",
      413,
      LARGE,
      () =>
        webhookRequest("x".repeat(MIB + 1), `t=${now()},v1=00`, { "Content-Length": `${MIB + 1}` }),
    ],
    [
      "a body over 1 MiB without a Content-Length",
      413,
      LARGE,
      () => webhookRequest(streamOf([new Uint8Array(MIB + 1)], "close"), `t=${now()},v1=00`),
    ],
    ["a body over 1 MiB in many chunks", 413, LARGE, () =>
      webhookRequest(
        streamOf(Array.from({ length: 1025 }, () => new Uint8Array(KIB)), "close"),
        `t=${now()},v1=00`,
      )],
    ["a validly signed body over 1 MiB", 413, LARGE, signedBody(`{"pad":"${"p".repeat(MIB)}"}`)],
    [
      "an endless body stream",
      413,
      LARGE,
      () => webhookRequest(streamOf([], "endless"), `t=${now()},v1=00`),
    ],
    [
      "a Content-Length of 10 GB on a small body",
      413,
      LARGE,
      () => webhookRequest("{}", `t=${now()},v1=00`, { "Content-Length": "10000000000" }),
    ],
    [
      "a Content-Length of 10 on a larger body",
      400,
      SIG,
      () => webhookRequest(sampleEvent(), `t=${now()},v1=00`, { "Content-Length": "10" }),
    ],
    [
      "a Content-Length of 10 on a body over 1 MiB",
      413,
      LARGE,
      () => webhookRequest("x".repeat(MIB + 1), `t=${now()},v1=00`, { "Content-Length": "10" }),
    ],
    [
      "a non-numeric Content-Length",
      400,
      SIG,
      () => webhookRequest(sampleEvent(), `t=${now()},v1=00`, { "Content-Length": "abc" }),
    ],
    [
      "a negative Content-Length",
      400,
      SIG,
      () => webhookRequest(sampleEvent(), `t=${now()},v1=00`, { "Content-Length": "-1" }),
    ],
    ["Content-Type text/plain and a bad signature", 400, SIG, badContentType("text/plain")],
    [
      "Content-Type multipart/form-data and a bad signature",
      400,
      SIG,
      badContentType(
        "multipart/form-data; boundary=xyz",
      ),
    ],
    [
      "a form-encoded Content-Type and a bad signature",
      400,
      SIG,
      badContentType(
        "application/x-www-form-urlencoded",
      ),
    ],
    ["no Content-Type and a bad signature", 400, SIG, badContentType(null)],
    [
      "a body that is not UTF-8 with a bad signature",
      400,
      SIG,
      () => webhookRequest(INVALID_UTF8, `t=${now()},v1=${"0".repeat(64)}`),
    ],
    ["a body that is not UTF-8, signed over its raw bytes", 400, SIG, async (c) => {
      const t = now();
      return webhookRequest(
        INVALID_UTF8,
        `t=${t},v1=${await hmacHex(c.webhookSecret, t, INVALID_UTF8)}`,
      );
    }],
    [
      "a body of 100 000 nested arrays with a bad signature",
      400,
      SIG,
      () => webhookRequest(deepJson(100_000), `t=${now()},v1=${"0".repeat(64)}`),
    ],
    [
      "a body stream that errors mid-way",
      400,
      "Could not read the request body",
      () => webhookRequest(streamOf([encoder.encode('{"id":')], "error"), `t=${now()},v1=00`),
    ],
    ["a validly signed body that is not JSON", 400, PAYLOAD, signedBody("not json")],
    ["a validly signed truncated JSON body", 400, PAYLOAD, signedBody('{"id":"evt_1","type":')],
    ["a validly signed body of 100 000 nested arrays", 400, PAYLOAD, signedBody(deepJson(100_000))],
    ["a validly signed `{}`", 400, PAYLOAD, signedBody("{}")],
    ["a validly signed `[]`", 400, PAYLOAD, signedBody("[]")],
    ["a validly signed string", 400, PAYLOAD, signedBody('"evt_1"')],
    ["a validly signed number", 400, PAYLOAD, signedBody("42")],
    ["a validly signed `true`", 400, PAYLOAD, signedBody("true")],
    ['a validly signed `{"id":1}`', 400, PAYLOAD, signedBody('{"id":1}')],
    [
      "a validly signed event with an empty id",
      400,
      PAYLOAD,
      signedBody(
        '{"id":"","type":"invoice.paid","data":{"object":{}}}',
      ),
    ],
    [
      "a validly signed event whose type is a number",
      400,
      PAYLOAD,
      signedBody(
        '{"id":"evt_1","type":1,"data":{"object":{}}}',
      ),
    ],
    [
      "a validly signed event without a type",
      400,
      PAYLOAD,
      signedBody(
        '{"id":"evt_1","data":{"object":{}}}',
      ),
    ],
    [
      "a validly signed event with `data: null`",
      400,
      PAYLOAD,
      signedBody(
        '{"id":"evt_1","type":"invoice.paid","data":null}',
      ),
    ],
    [
      "a validly signed event without data",
      400,
      PAYLOAD,
      signedBody(
        '{"id":"evt_1","type":"invoice.paid"}',
      ),
    ],
    [
      "a validly signed event with `data.object: null`",
      400,
      PAYLOAD,
      signedBody(
        '{"id":"evt_1","type":"customer.subscription.updated","data":{"object":null}}',
      ),
    ],
    [
      "a validly signed event whose data.object is a string",
      400,
      PAYLOAD,
      signedBody(
        '{"id":"evt_1","type":"checkout.session.completed","data":{"object":"cs_1"}}',
      ),
    ],
    [
      "a validly signed event whose data is an array",
      400,
      PAYLOAD,
      signedBody(
        '{"id":"evt_1","type":"invoice.paid","data":[{"object":{}}]}',
      ),
    ],
    [
      "a validly signed event with id and data only on `__proto__`",
      400,
      PAYLOAD,
      signedBody(
        '{"type":"invoice.paid","__proto__":{"id":"evt_1","data":{"object":{}}}}',
      ),
    ],
    [
      "a validly signed event whose duplicate id key ends as a number",
      400,
      PAYLOAD,
      signedBody(
        '{"id":"evt_1","type":"invoice.paid","data":{"object":{}},"id":7}',
      ),
    ],
    [
      "a validly signed thin (v2) event notification",
      400,
      PAYLOAD,
      signedBody(
        '{"id":"evt_1","object":"v2.core.event","type":"v1.billing.meter.error_report_triggered"}',
      ),
    ],
    ["a validly signed JSON `null`", 400, PAYLOAD, signedBody("null")],
  ];
  return asWebhookCases(rows);
}
