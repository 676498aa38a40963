/**
 * Fuzzing: seeded, mutated requests to every function (HOSTILE_SEED replays a run) never get a
 * 5xx, always get CORS and a bare error body, and change nothing.
 */
import assert from "node:assert/strict";
import { signPayload } from "../dev/stripe/mod.ts";
import { harnessTest, WEBHOOK_SECRET } from "./_support/harness.ts";
import {
  answer,
  type Arena,
  arena,
  checkAnswer,
  databaseDigest,
} from "./_support/hostile/arena.ts";
import { requestTo, type Target } from "./_support/hostile/common.ts";
import { Draw, FUZZ_HEADERS, FUZZ_OTHER_METHODS, reshapedEvent } from "./_support/hostile/fuzz.ts";
import { sampleEvent } from "./_support/hostile/webhook.ts";
import { mulberry32, seedFrom } from "./_support/random.ts";

const FUZZ_ITERATIONS = 1500;
const FUZZ_SEED = seedFrom("HOSTILE_SEED", 20260214);
const MIB = 1024 * 1024;

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
