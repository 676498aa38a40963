/**
 * The hostile corpus: every request of `_support/hostile/` gets its exact 4xx with a bare error
 * body and CORS, and changes nothing in the database or at Stripe.
 */
import assert from "node:assert/strict";
import { harnessTest } from "./_support/harness.ts";
import {
  answer,
  type Arena,
  arena,
  checkAnswer,
  databaseDigest,
} from "./_support/hostile/arena.ts";
import { type HostileCase, MESSAGES, requestTo } from "./_support/hostile/common.ts";
import { hostileCorpus } from "./_support/hostile/corpus.ts";
import { assertAnswer } from "./_support/responses.ts";

const CASES = hostileCorpus();

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
    await assertAnswer(response, 400, { error: acceptedMessage });
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
    await assertAnswer(response, 400, { error: acceptedMessage });
  }
}

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
