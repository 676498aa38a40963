import assert from "node:assert/strict";
import { decodeJwt, decodeProtectedHeader, SignJWT } from "npm:jose@6.2.18";
import { CodeStore } from "../dev/auth/codes.ts";
import { REUSE_INTERVAL_SECONDS, SessionStore } from "../dev/auth/sessions.ts";
import { LOCAL_PUBLISHABLE_KEY } from "../dev/local.ts";
import { harnessTest } from "./_support/harness.ts";
import { serveLocalPlatform } from "./_support/local_platform.ts";
import { requestWithHost } from "./_support/raw_http.ts";

const KEY = { apikey: LOCAL_PUBLISHABLE_KEY };
const JSON_HEADERS = { ...KEY, "Content-Type": "application/json" };

function email(): string {
  return `auth-${crypto.randomUUID().slice(0, 8)}@example.com`;
}

harnessTest(
  "supabase-js signs in with an email code, and the session's token is one the functions accept",
  async (h) => {
    const platform = serveLocalPlatform(h);
    try {
      const address = email();
      const { client, accessToken, userId } = await platform.signIn(address.toUpperCase());
      assert.ok(platform.logs.some((line) => line.startsWith(`Sign-in code for ${address}: `)));

      const header = decodeProtectedHeader(accessToken);
      assert.equal(header.alg, "ES256");
      assert.equal(header.kid, h.issuer.kid);
      const claims = decodeJwt(accessToken);
      assert.equal(claims.iss, h.issuer.issuer);
      assert.equal(claims.aud, "authenticated");
      assert.equal(claims.role, "authenticated");
      assert.equal(claims.sub, userId);
      assert.equal(claims.email, address);
      assert.equal(typeof claims.session_id, "string");
      assert.equal((claims.exp ?? 0) - (claims.iat ?? 0), 3600);

      const { data, error } = await client.auth.getUser();
      assert.equal(error, null);
      assert.equal(data.user?.id, userId);
      assert.equal(data.user?.email, address);
      assert.deepEqual(data.user?.app_metadata, { provider: "email", providers: ["email"] });

      // The same token opens a checkout: the functions take it.
      const checkout = await h.post(h.checkout, accessToken);
      assert.equal(checkout.status, 200);
      assert.match((await checkout.json()).url, /\/c\/pay\//);
      const [row] = await h.sql<{ email: string }[]>`
        select email from public.profiles where id = ${userId}`;
      assert.equal(row?.email, address);
    } finally {
      await platform.close();
    }
  },
);

harnessTest(
  "a wrong code is refused with Supabase Auth's error, and five wrong tries void the code",
  async (h) => {
    const platform = serveLocalPlatform(h);
    try {
      const address = email();
      const client = platform.client();
      assert.equal((await client.auth.signInWithOtp({ email: address })).error, null);
      const code = await platform.codeFor(address);
      const wrong = code === "000000" ? "111111" : "000000";
      const refused = await client.auth.verifyOtp({ email: address, token: wrong, type: "email" });
      assert.equal(refused.error?.status, 403);
      assert.equal(refused.error?.code, "otp_expired");
      assert.equal(refused.error?.message, "Token has expired or is invalid");
      for (let attempt = 2; attempt <= 5; attempt++) {
        await client.auth.verifyOtp({ email: address, token: wrong, type: "email" });
      }
      const late = await client.auth.verifyOtp({ email: address, token: code, type: "email" });
      assert.equal(late.error?.code, "otp_expired");
      assert.equal(late.data.session, null);
    } finally {
      await platform.close();
    }
  },
);

harnessTest(
  "a refresh rotates the refresh token, and sign-out ends the session for refresh and GET /user",
  async (h) => {
    const platform = serveLocalPlatform(h);
    try {
      const { client } = await platform.signIn(email());
      const first = (await client.auth.getSession()).data.session;
      assert.ok(first);
      const refreshed = await client.auth.refreshSession();
      assert.equal(refreshed.error, null);
      const second = refreshed.data.session;
      assert.ok(second);
      assert.notEqual(second.refresh_token, first.refresh_token);
      assert.equal(
        decodeJwt(second.access_token).session_id,
        decodeJwt(first.access_token).session_id,
      );

      assert.equal((await client.auth.signOut()).error, null);
      const user = await fetch(`${platform.url}/auth/v1/user`, {
        headers: { ...KEY, Authorization: `Bearer ${second.access_token}` },
      });
      assert.equal(user.status, 403);
      assert.equal((await user.json()).error_code, "session_not_found");
      const again = await fetch(`${platform.url}/auth/v1/token?grant_type=refresh_token`, {
        method: "POST",
        headers: JSON_HEADERS,
        body: JSON.stringify({ refresh_token: second.refresh_token }),
      });
      assert.equal(again.status, 400);
      assert.equal((await again.json()).error_code, "refresh_token_not_found");
    } finally {
      await platform.close();
    }
  },
);

harnessTest(
  "the local auth refuses a missing or another API key with the gateway's 401",
  async (h) => {
    const platform = serveLocalPlatform(h);
    try {
      const missing = await fetch(`${platform.url}/auth/v1/otp`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ email: email() }),
      });
      assert.equal(missing.status, 401);
      assert.equal((await missing.json()).message, "No API key found in request");
      const other = await fetch(`${platform.url}/auth/v1/user`, {
        headers: { apikey: "sb_publishable_someone_else" },
      });
      assert.equal(other.status, 401);
      assert.equal((await other.json()).message, "Invalid API key");
    } finally {
      await platform.close();
    }
  },
);

harnessTest(
  "the local auth answers errors in the shape the client's API version asks for",
  async (h) => {
    const platform = serveLocalPlatform(h);
    try {
      const bad = { email: "not an email" };
      const original = await fetch(`${platform.url}/auth/v1/otp`, {
        method: "POST",
        headers: JSON_HEADERS,
        body: JSON.stringify(bad),
      });
      assert.equal(original.status, 400);
      assert.deepEqual(await original.json(), {
        code: 400,
        error_code: "validation_failed",
        msg: "Unable to validate email address: invalid format",
      });
      const versioned = await fetch(`${platform.url}/auth/v1/otp`, {
        method: "POST",
        headers: { ...JSON_HEADERS, "X-Supabase-Api-Version": "2024-01-01" },
        body: JSON.stringify(bad),
      });
      assert.equal(versioned.status, 400);
      assert.equal(versioned.headers.get("x-supabase-api-version"), "2024-01-01");
      assert.deepEqual(await versioned.json(), {
        code: "validation_failed",
        message: "Unable to validate email address: invalid format",
      });
      const notJson = await fetch(`${platform.url}/auth/v1/verify`, {
        method: "POST",
        headers: JSON_HEADERS,
        body: "{",
      });
      assert.equal(notJson.status, 400);
      assert.equal((await notJson.json()).error_code, "bad_json");
      const noSignUp = await fetch(`${platform.url}/auth/v1/otp`, {
        method: "POST",
        headers: JSON_HEADERS,
        body: JSON.stringify({ email: email(), create_user: false }),
      });
      assert.equal(noSignUp.status, 422);
      assert.equal((await noSignUp.json()).error_code, "otp_disabled");
      const password = await fetch(`${platform.url}/auth/v1/token?grant_type=password`, {
        method: "POST",
        headers: JSON_HEADERS,
        body: JSON.stringify({ email: email(), password: "secret" }),
      });
      assert.equal(password.status, 400);
    } finally {
      await platform.close();
    }
  },
);

harnessTest("GET /auth/v1/user refuses every token the functions refuse", async (h) => {
  const platform = serveLocalPlatform(h);
  try {
    const { userId } = await platform.signIn(email());
    const forged = await new SignJWT({ role: "authenticated", aud: "authenticated" })
      .setProtectedHeader({ alg: "HS256" })
      .setSubject(userId)
      .setIssuer(h.issuer.issuer)
      .setIssuedAt()
      .setExpirationTime("1h")
      .sign(new TextEncoder().encode("a-secret-nobody-configured-here"));
    const tokens = {
      expired: await h.token(userId, {}, { expiresIn: -60 }),
      "another issuer": await h.token(userId, {}, { issuer: "http://elsewhere.example/auth/v1" }),
      "the anon role": await h.token(userId, { role: "anon" }),
      forged,
      "the publishable key": LOCAL_PUBLISHABLE_KEY,
    };
    for (const [what, token] of Object.entries(tokens)) {
      const response = await fetch(`${platform.url}/auth/v1/user`, {
        headers: { ...KEY, Authorization: `Bearer ${token}` },
      });
      assert.equal(response.status, 403, what);
      assert.equal((await response.json()).error_code, "bad_jwt", what);
    }
    const none = await fetch(`${platform.url}/auth/v1/user`, { headers: KEY });
    assert.equal(none.status, 401);
    assert.equal((await none.json()).error_code, "no_authorization");
  } finally {
    await platform.close();
  }
});

harnessTest(
  "the local-only helpers answer only requests addressed to this machine, with no CORS headers",
  async (h) => {
    const platform = serveLocalPlatform(h);
    try {
      const address = email();
      await platform.client().auth.signInWithOtp({ email: address });
      const read = await fetch(`${platform.url}/auth/v1/local/mailbox?email=${address}`);
      assert.equal(read.status, 200);
      assert.equal(read.headers.get("access-control-allow-origin"), null);
      assert.match((await read.json()).code, /^\d{6}$/);

      // A name of someone else's that resolves here (DNS rebinding) gets nothing.
      const probes = [
        ["GET", `/auth/v1/local/mailbox?email=${address}`],
        ["POST", "/auth/v1/local/token"],
      ];
      for (const [method = "", path = ""] of probes) {
        const response = await requestWithHost(platform.url, "attacker.example", method, path, {
          body: method === "POST" ? '{"email":"rebound@example.com"}' : undefined,
          headers: { "Content-Type": "application/json" },
        });
        assert.equal(response.status, 403, path);
        await response.body?.cancel();
      }
      // No preflight succeeds: a page of another origin cannot POST JSON to the token helper.
      const preflight = await fetch(`${platform.url}/auth/v1/local/token`, { method: "OPTIONS" });
      assert.equal(preflight.ok, false);
      await preflight.body?.cancel();
    } finally {
      await platform.close();
    }
  },
);

Deno.test("a refresh token used again within the reuse interval gets the current one, later it ends the session", () => {
  let now = 1_000_000;
  const sessions = new SessionStore(() => now);
  const { refreshToken: first } = sessions.start("user");
  const rotated = sessions.refresh(first);
  assert.ok(rotated.ok);
  now += 1000;
  const twice = sessions.refresh(first);
  assert.deepEqual(twice, rotated);
  now += REUSE_INTERVAL_SECONDS * 1000;
  assert.deepEqual(sessions.refresh(first), { ok: false, reason: "already_used" });
  // Taken for a stolen token: the whole session ends, its current token with it.
  assert.deepEqual(sessions.refresh(rotated.refreshToken), { ok: false, reason: "revoked" });
  assert.equal(sessions.isEnded(rotated.sessionId), true);
});

Deno.test("a sign-in code expires after an hour and is used once", () => {
  let now = 0;
  const codes = new CodeStore(() => now);
  const code = codes.issue("a@example.com");
  assert.match(code, /^\d{6}$/);
  assert.equal(codes.verify("a@example.com", code), true);
  assert.equal(codes.verify("a@example.com", code), false);
  const later = codes.issue("a@example.com");
  now += 3600 * 1000;
  assert.equal(codes.lastSent("a@example.com"), undefined);
  assert.equal(codes.verify("a@example.com", later), false);
});
