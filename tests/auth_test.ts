import assert from "node:assert/strict";
import { base64url, exportJWK, generateKeyPair, SignJWT } from "npm:jose@6.2.18";
import { createLocalIssuer } from "../dev/issuer.ts";
import { createAuthenticator } from "../supabase/functions/_shared/auth.ts";
import { HttpError } from "../supabase/functions/_shared/http.ts";

const SUPABASE_URL = "http://127.0.0.1:54321";
const USER_ID = "0b5f3c9e-8a57-4c1e-9f4e-2d7f3c1a9b10";
const issuer = await createLocalIssuer(SUPABASE_URL);
const authenticate = createAuthenticator({
  jwks: issuer.jwks,
  supabaseUrl: SUPABASE_URL,
  issuers: [issuer.issuer],
});

function withToken(token: string | undefined, scheme = "Bearer"): Request {
  const headers = new Headers();
  if (token !== undefined) headers.set("Authorization", `${scheme} ${token}`);
  return new Request("http://127.0.0.1/", { method: "POST", headers });
}

async function assertRejected(request: Request, message?: string): Promise<void> {
  await assert.rejects(authenticate(request), (error) => {
    assert.ok(error instanceof HttpError, `expected HttpError, got ${error}`);
    assert.equal(error.status, 401);
    if (message !== undefined) assert.equal(error.message, message);
    return true;
  });
}

function unsignedToken(claims: Record<string, unknown>): string {
  const encode = (value: unknown) => base64url.encode(JSON.stringify(value));
  return `${encode({ alg: "none", typ: "JWT" })}.${encode(claims)}.`;
}

Deno.test("a valid ES256 token yields its user id and email", async () => {
  const token = await issuer.mint({ sub: USER_ID, email: "ada@example.com" });
  assert.deepEqual(await authenticate(withToken(token)), { id: USER_ID, email: "ada@example.com" });
});

Deno.test("a token without an email claim yields no email", async () => {
  const token = await issuer.mint({ sub: USER_ID });
  assert.deepEqual(await authenticate(withToken(token)), { id: USER_ID, email: undefined });
});

Deno.test("a request without an Authorization header is rejected", async () => {
  await assertRejected(withToken(undefined), "Missing authorization header");
});

Deno.test("an Authorization header that is not a bearer token is rejected", async () => {
  const token = await issuer.mint({ sub: USER_ID });
  await assertRejected(withToken(token, "Basic"), "Invalid authorization header");
  await assertRejected(withToken("", "Bearer"), "Invalid authorization header");
});

Deno.test("a malformed token is rejected", async () => {
  for (const token of ["not-a-jwt", "a.b.c", "eyJhbGciOiJFUzI1NiJ9.e30", "...."]) {
    await assertRejected(withToken(token), "Invalid access token");
  }
});

Deno.test("a token with a bad signature is rejected", async () => {
  const token = await issuer.mint({ sub: USER_ID });
  const [header, payload] = token.split(".");
  const other = await issuer.mint({ sub: "11111111-1111-4111-8111-111111111111" });
  await assertRejected(
    withToken(`${header}.${payload}.${other.split(".")[2]}`),
    "Invalid access token",
  );
});

Deno.test("a token signed by another key with the same kid is rejected", async () => {
  const stranger = await generateKeyPair("ES256");
  const token = await new SignJWT({ role: "authenticated", aud: "authenticated" })
    .setProtectedHeader({ alg: "ES256", kid: issuer.kid })
    .setSubject(USER_ID)
    .setIssuer(issuer.issuer)
    .setExpirationTime("1h")
    .sign(stranger.privateKey);
  await assertRejected(withToken(token), "Invalid access token");
});

Deno.test("an expired token is rejected", async () => {
  const token = await issuer.mint({ sub: USER_ID }, { expiresIn: -60 });
  await assertRejected(withToken(token), "Invalid access token");
});

Deno.test("a token that is not yet valid is rejected", async () => {
  const token = await issuer.mint({ sub: USER_ID }, { notBefore: 3600 });
  await assertRejected(withToken(token), "Invalid access token");
});

Deno.test("an unsigned alg none token is rejected", async () => {
  const now = Math.floor(Date.now() / 1000);
  const token = unsignedToken({
    sub: USER_ID,
    role: "authenticated",
    aud: "authenticated",
    iss: issuer.issuer,
    exp: now + 3600,
  });
  await assertRejected(withToken(token), "Invalid access token");
});

Deno.test("a token whose role is not authenticated is rejected", async () => {
  for (const role of ["anon", "service_role", "postgres", ""]) {
    const token = await issuer.mint({ sub: USER_ID, role });
    await assertRejected(withToken(token), "Access token is not a signed-in user's");
  }
});

Deno.test("a token without a role is rejected", async () => {
  const token = await issuer.mint({ sub: USER_ID, role: undefined });
  await assertRejected(withToken(token));
});

Deno.test("a token without sub, or with a sub that is not a user id, is rejected", async () => {
  // Signed with a key the verifier trusts, so only the missing sub can be why it is refused.
  const { privateKey, publicKey } = await generateKeyPair("ES256");
  const jwk = { ...(await exportJWK(publicKey)), kty: "EC", kid: "k1", alg: "ES256" };
  const local = createAuthenticator({ jwks: { keys: [jwk] }, supabaseUrl: undefined, issuers: [] });
  const claims = { role: "authenticated", aud: "authenticated" };
  const sign = (token: SignJWT) =>
    token.setProtectedHeader({ alg: "ES256", kid: "k1" }).setExpirationTime("1h").sign(privateKey);
  const rejectedBy = async (token: string) => {
    const error = await local(withToken(token)).then(() => undefined, (error: unknown) => error);
    assert.ok(error instanceof HttpError, `expected HttpError, got ${error}`);
    return error.message;
  };
  assert.equal(
    (await local(withToken(await sign(new SignJWT(claims).setSubject(USER_ID))))).id,
    USER_ID,
    "the same key and claims with a sub are accepted",
  );
  assert.equal(await rejectedBy(await sign(new SignJWT(claims))), "Invalid access token");
  await assertRejected(withToken(await issuer.mint({ sub: "not-a-uuid" })), "Invalid access token");
  await assertRejected(withToken(await issuer.mint({ sub: "" })), "Invalid access token");
});

Deno.test("a token for another audience or issuer is rejected", async () => {
  await assertRejected(withToken(await issuer.mint({ sub: USER_ID, aud: "anon" })));
  await assertRejected(
    withToken(await issuer.mint({ sub: USER_ID }, { issuer: "https://evil.example/auth/v1" })),
  );
});

Deno.test("API keys in place of a user token are rejected", async () => {
  for (const key of ["sb_publishable_abc123", "sb_secret_abc123"]) {
    await assertRejected(withToken(key), "An API key is not a user access token");
  }
});

Deno.test("legacy anon and service-role keys are rejected", async () => {
  const secret = "legacy-jwt-secret-with-at-least-32-characters";
  const key = new TextEncoder().encode(secret);
  const legacy = createAuthenticator({
    jwks: { keys: [{ kty: "oct", k: base64url.encode(key), alg: "HS256" }] },
    supabaseUrl: undefined,
    issuers: [],
  });
  for (const role of ["anon", "service_role"]) {
    const apiKey = await new SignJWT({ role, iss: "supabase", ref: "abcdefghijklmnop" })
      .setProtectedHeader({ alg: "HS256", typ: "JWT" })
      .setIssuedAt()
      .setExpirationTime("10y")
      .sign(key);
    await assert.rejects(legacy(withToken(apiKey)), (error) => {
      assert.ok(error instanceof HttpError);
      assert.equal(error.status, 401);
      return true;
    });
  }
});

Deno.test("an HS256 user token is accepted when the JWKS carries the legacy secret", async () => {
  const key = new TextEncoder().encode("legacy-jwt-secret-with-at-least-32-characters");
  const legacy = createAuthenticator({
    jwks: { keys: [{ kty: "oct", k: base64url.encode(key), alg: "HS256" }, ...issuer.jwks.keys] },
    supabaseUrl: undefined,
    issuers: [],
  });
  const token = await new SignJWT({ role: "authenticated", aud: "authenticated" })
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setSubject(USER_ID)
    .setExpirationTime("1h")
    .sign(key);
  assert.equal((await legacy(withToken(token))).id, USER_ID);
});

Deno.test("an HS256 token is rejected when the JWKS has no secret, even signed with the public key", async () => {
  const publicJwk = JSON.stringify(issuer.jwks.keys[0]);
  const token = await new SignJWT({ role: "authenticated", aud: "authenticated" })
    .setProtectedHeader({ alg: "HS256", kid: issuer.kid })
    .setSubject(USER_ID)
    .setIssuer(issuer.issuer)
    .setExpirationTime("1h")
    .sign(new TextEncoder().encode(publicJwk));
  await assertRejected(withToken(token), "Invalid access token");
});

Deno.test("an RS256 token from the JWKS is accepted", async () => {
  const { privateKey, publicKey } = await generateKeyPair("RS256");
  const jwk = { ...(await exportJWK(publicKey)), kid: "rsa-1", alg: "RS256" };
  const rsa = createAuthenticator({
    jwks: { keys: [{ ...jwk, kty: "RSA" }] },
    supabaseUrl: undefined,
    issuers: [],
  });
  const token = await new SignJWT({ role: "authenticated", aud: "authenticated" })
    .setProtectedHeader({ alg: "RS256", kid: "rsa-1" })
    .setSubject(USER_ID)
    .setExpirationTime("1h")
    .sign(privateKey);
  assert.equal((await rsa(withToken(token))).id, USER_ID);
});

Deno.test("a token with an unknown kid is rejected", async () => {
  const token = await new SignJWT({ role: "authenticated", aud: "authenticated" })
    .setProtectedHeader({ alg: "ES256", kid: "../../etc/passwd" })
    .setSubject(USER_ID)
    .setExpirationTime("1h")
    .sign((await generateKeyPair("ES256")).privateKey);
  await assertRejected(withToken(token), "Invalid access token");
});

Deno.test("keys are fetched once from the project's JWKS endpoint when no JWKS is given", async () => {
  let fetches = 0;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (request) => {
    fetches++;
    assert.equal(new URL(request.url).pathname, "/auth/v1/.well-known/jwks.json");
    return Response.json(issuer.jwks);
  });
  try {
    const url = `http://127.0.0.1:${server.addr.port}`;
    const remote = createAuthenticator({ jwks: undefined, supabaseUrl: url, issuers: [] });
    for (let i = 0; i < 3; i++) {
      const token = await issuer.mint({ sub: USER_ID });
      assert.equal((await remote(withToken(token))).id, USER_ID);
    }
    assert.equal(fetches, 1);
  } finally {
    await server.shutdown();
  }
});
