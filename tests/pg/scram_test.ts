/** SCRAM-SHA-256 on its own: RFC 7677's example, and every way a server's answer can be wrong. */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { ScramClient } from "../../supabase/functions/_shared/pg/scram.ts";
import { PgConnectionError } from "../../supabase/functions/_shared/pg/mod.ts";
import { scramReference } from "./support.ts";

// ---- SCRAM-SHA-256 ------------------------------------------------------------------------------

/** RFC 7677's example exchange (section 3). */
const RFC7677 = {
  password: "pencil",
  clientNonce: "rOprNGfwEbeRWgbNEkqO",
  serverFirst:
    "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
  clientFinal:
    "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
  serverFinal: "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=",
};

/** Asserts that `fn` fails the login: a PgConnectionError with code AUTH_FAILED. */
async function assertAuthFails(fn: () => unknown | Promise<unknown>, what: string) {
  await assert.rejects(
    async () => await fn(),
    (error) => error instanceof PgConnectionError && error.code === "AUTH_FAILED",
    what,
  );
}

Deno.test("the SCRAM reference computation reproduces RFC 7677's example", () => {
  const reference = scramReference(
    RFC7677.password,
    `n=user,r=${RFC7677.clientNonce}`,
    RFC7677.serverFirst,
  );
  assert.equal(reference.clientFinal, RFC7677.clientFinal);
  assert.equal(reference.serverFinal, RFC7677.serverFinal);
});

Deno.test("ScramClient's first message has no channel binding, an empty user and its nonce", () => {
  const client = new ScramClient(RFC7677.password, RFC7677.clientNonce);
  assert.equal(client.clientFirstBare, `n=,r=${RFC7677.clientNonce}`);
  assert.equal(client.first(), `n,,n=,r=${RFC7677.clientNonce}`);
});

Deno.test("ScramClient answers RFC 7677's server-first message with the proof for its own first message", async () => {
  const client = new ScramClient(RFC7677.password, RFC7677.clientNonce);
  const expected = scramReference(RFC7677.password, client.clientFirstBare, RFC7677.serverFirst);
  const final = await client.final(RFC7677.serverFirst);
  assert.equal(final, expected.clientFinal);
  // The proof signs the first message as sent (n=), so it cannot be the RFC's (n=user).
  assert.notEqual(final, RFC7677.clientFinal);
  client.verify(expected.serverFinal);
});

Deno.test("ScramClient rejects a server signature that is not the one it expects", async () => {
  const client = new ScramClient(RFC7677.password, RFC7677.clientNonce);
  const expected = scramReference(RFC7677.password, client.clientFirstBare, RFC7677.serverFirst);
  await client.final(RFC7677.serverFirst);
  const signature = Buffer.from(expected.serverFinal.slice(2), "base64");
  signature[0] = (signature[0] ?? 0) ^ 1;
  const tampered = [
    `v=${signature.toString("base64")}`,
    RFC7677.serverFinal, // the RFC's signature covers "n=user", not what this client sent
    "e=invalid-proof",
    expected.serverFinal.slice(2),
    "",
  ];
  for (const serverFinal of tampered) {
    await assertAuthFails(() => client.verify(serverFinal), serverFinal);
  }
});

Deno.test("ScramClient rejects a server nonce that does not extend its own", async () => {
  const rest = ",s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";
  const nonces = [
    "r=someoneElsesNonce%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0",
    `r=${RFC7677.clientNonce}`,
    `r=XrOprNGfwEbeRWgbNEkqO%hvYD`,
    "r=",
  ];
  for (const nonce of nonces) {
    const client = new ScramClient(RFC7677.password, RFC7677.clientNonce);
    await assertAuthFails(() => client.final(`${nonce}${rest}`), nonce);
  }
  const client = new ScramClient(RFC7677.password, RFC7677.clientNonce);
  await assertAuthFails(() => client.final("s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"), "no nonce");
});

Deno.test("ScramClient rejects a missing salt and an invalid iteration count", async () => {
  const nonce = "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0";
  const salt = "s=W22ZaJ0SNY7soEsUEjb6gQ==";
  const messages = [
    `${nonce},${salt},i=0`,
    `${nonce},${salt},i=-4096`,
    `${nonce},${salt},i=1.5`,
    `${nonce},${salt},i=many`,
    `${nonce},${salt},i=`,
    `${nonce},${salt}`,
    `${nonce},i=4096`,
  ];
  for (const message of messages) {
    const client = new ScramClient(RFC7677.password, RFC7677.clientNonce);
    await assertAuthFails(() => client.final(message), message);
  }
});

Deno.test("ScramClient rejects a server-final message before it has sent its proof", async () => {
  const client = new ScramClient(RFC7677.password, RFC7677.clientNonce);
  await assertAuthFails(() => client.verify(RFC7677.serverFinal), "verify before final");
});

Deno.test("ScramClient picks a fresh random nonce for each login", () => {
  const nonces = new Set(
    Array.from({ length: 20 }, () => new ScramClient("pw").clientFirstBare.slice("n=,r=".length)),
  );
  assert.equal(nonces.size, 20);
  for (const nonce of nonces) assert.match(nonce, /^[A-Za-z0-9+/]{24}$/);
});
