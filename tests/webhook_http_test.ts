/** The webhook's HTTP rules: a 1 MiB body limit, POST only, and CORS preflights. */
import assert from "node:assert/strict";
import { signPayload } from "../dev/stripe/mod.ts";
import { harnessTest, WEBHOOK_SECRET } from "./_support/harness.ts";
import { assertAnswer, assertPreflight } from "./_support/responses.ts";
import { assertInvalidSignature, postRaw } from "./_support/webhook.ts";

const MIB = 1024 * 1024;

harnessTest(
  "stripe-webhook answers 413 to a body over 1 MiB that declares its length",
  async (h) => {
    const body = "x".repeat(MIB + 1);
    const signature = await signPayload(body, WEBHOOK_SECRET);
    const response = await postRaw(h, body, {
      "Content-Length": String(MIB + 1),
      "Stripe-Signature": signature,
    });
    await assertAnswer(response, 413, { error: "Payload too large" });
  },
);

harnessTest(
  "stripe-webhook answers 413 to a streamed body over 1 MiB without a content length",
  async (h) => {
    const chunk = new Uint8Array(64 * 1024).fill(120);
    const total = 8 * MIB;
    let pulled = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (pulled >= total) return controller.close();
        pulled += chunk.byteLength;
        controller.enqueue(chunk);
      },
    });
    const response = await postRaw(h, stream, { "Stripe-Signature": "t=1,v1=00" });
    await assertAnswer(response, 413, { error: "Payload too large" });
    assert.ok(pulled < total, `read ${pulled} bytes of a body it had already refused`);
  },
);

harnessTest("stripe-webhook answers 413 before checking the signature", async (h) => {
  const response = await postRaw(h, "x".repeat(MIB + 10), {});
  assert.equal(response.status, 413);
  await response.body?.cancel();
});

harnessTest(
  "stripe-webhook accepts a body of exactly 1 MiB up to the signature check",
  async (h) => {
    // A body at the limit is read, then refused for its (missing) signature, not its size.
    const response = await postRaw(h, "x".repeat(MIB), {});
    await assertInvalidSignature(response);
  },
);

for (const method of ["GET", "PUT", "DELETE"]) {
  harnessTest(`stripe-webhook answers 405 to ${method}`, async (h) => {
    const response = await postRaw(h, method === "PUT" ? "{}" : null, {}, method);
    await assertAnswer(response, 405, { error: "Method not allowed" });
  });
}

harnessTest(
  "stripe-webhook answers an OPTIONS preflight with 204 and the CORS headers",
  async (h) => {
    const response = await postRaw(h, null, {
      Origin: "http://elsewhere.localhost",
      "Access-Control-Request-Method": "POST",
    }, "OPTIONS");
    await assertPreflight(response);
  },
);
