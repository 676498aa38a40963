/**
 * Logging in: SCRAM, MD5 and cleartext passwords against a scripted server and against the real
 * one (its pgtest_* roles; run with DATABASE_AUTH_TESTS=1), and a cleartext password that never
 * crosses the wire in plain text when the server offers TLS.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { connect } from "../../dev/postgres.ts";
import { literal, statement } from "../../supabase/functions/_shared/pg/mod.ts";
import {
  assertConnectionError,
  assertNoSecret,
  assertPgError,
  AUTH_OK,
  AUTH_TESTS,
  backend,
  contains,
  decoder,
  encoder,
  errorMessage,
  READY,
  rejection,
  row,
  scramLogin,
  scriptedServer,
  SERVER_URL,
  serverTlsTarget,
  startRecordingRelay,
  within,
  withParams,
  withPool,
} from "./support.ts";

Deno.test("SCRAM over the wire: the client logs in when the server proves it knows the password", async () => {
  const password = "correct horse";
  const server = scriptedServer((peer) => scramLogin(peer, password, false));
  try {
    await withPool(server.url("app", encodeURIComponent(password)), {}, async (pool) => {
      assert.deepEqual(await within(pool.query(statement`select 1`)), [{
        command: "SELECT 0",
        rows: [],
      }]);
    });
  } finally {
    await server.close();
  }
});

Deno.test("SCRAM over the wire: a server that cannot prove it knows the password fails the login", async () => {
  const password = "correct horse";
  const server = scriptedServer((peer) => scramLogin(peer, password, true));
  try {
    await withPool(server.url("app", encodeURIComponent(password)), {}, async (pool) => {
      const error = await rejection(pool.query(statement`select 1`));
      assertConnectionError(error, "AUTH_FAILED");
      assert.match(error.message, /signature/);
      assertNoSecret(error, password);
    });
  } finally {
    await server.close();
  }
});

Deno.test("md5 authentication hashes the server's salt as bytes", async () => {
  const user = "app";
  const password = "md5 secret";
  // Salt bytes above 0x7f are where hashing them as UTF-8 text would go wrong.
  const salt = new Uint8Array([0xde, 0xad, 0xbe, 0xef]);
  const inner = createHash("md5").update(password + user).digest("hex");
  const expected = `md5${createHash("md5").update(inner).update(salt).digest("hex")}\0`;
  let received: string | undefined;
  const server = scriptedServer(async (peer) => {
    await peer.startup();
    await peer.send(backend("R", 5, salt));
    const answer = await peer.next();
    received = answer ? decoder.decode(answer.body) : undefined;
    if (received !== expected) {
      await peer.send(errorMessage("28P01", "password authentication failed", "FATAL"));
      return;
    }
    await peer.send(AUTH_OK, READY);
    await peer.serveQueries();
  });
  try {
    await withPool(server.url(user, encodeURIComponent(password)), {}, async (pool) => {
      const query = within(pool.query(statement`select 1`));
      // A wrong hash fails the query; compare the hash first, for the clearer message.
      await query.catch(() => {});
      assert.equal(received, expected);
      assert.deepEqual(await query, [{ command: "SELECT 0", rows: [] }]);
    });
  } finally {
    await server.close();
  }
});

Deno.test("a server that asks for a password the URL does not have fails the login with AUTH_FAILED", async () => {
  const server = scriptedServer(async (peer) => {
    await peer.startup();
    await peer.send(backend("R", 3));
    await peer.next();
  });
  try {
    await withPool(server.url("app"), {}, async (pool) => {
      const error = await rejection(pool.query(statement`select 1`));
      assertConnectionError(error, "AUTH_FAILED");
      assert.match(error.message, /password/);
    });
  } finally {
    await server.close();
  }
});

Deno.test("an authentication method the client does not support fails the login with AUTH_FAILED", async () => {
  const requests = [
    backend("R", 7), // GSSAPI
    backend("R", 10, "SCRAM-SHA-256-PLUS", new Uint8Array(1)),
  ];
  for (const request of requests) {
    const server = scriptedServer(async (peer) => {
      await peer.startup();
      await peer.send(request);
      await peer.next();
    });
    try {
      await withPool(server.url("app", "pw"), {}, async (pool) => {
        assertConnectionError(await rejection(pool.query(statement`select 1`)), "AUTH_FAILED");
      });
    } finally {
      await server.close();
    }
  }
});

// ---- password authentication on the server ------------------------------------------------------

/** The roles pg_hba.conf asks for a password (see `.ci/run`); "pg_" role names are reserved. */
const AUTH_ROLES = {
  "scram-sha-256": "pgtest_scram",
  md5: "pgtest_md5",
  password: "pgtest_password",
} as const;

/** Sets `role`'s password (stored as `encryption`), runs `fn`, then drops the role. */
async function withLoginRole(
  role: string,
  encryption: "md5" | "scram-sha-256",
  password: string,
  fn: () => Promise<void>,
) {
  const sql = connect(SERVER_URL, { max: 1 });
  try {
    await sql.begin(async (tx) => {
      await tx.unsafe(`set local password_encryption = '${encryption}'`);
      await tx.unsafe(
        `do $$ begin create role ${role}; exception when duplicate_object then null; end $$`,
      );
      await tx.unsafe(`alter role ${role} login password ${literal(password)}`);
    });
    await fn();
  } finally {
    await sql.unsafe(`drop role if exists ${role}`).catch(() => {});
    await sql.end();
  }
}

/** The server at SERVER_URL over TLS, when it has TLS on (as on CI). */
const SERVER_TLS = AUTH_TESTS ? await serverTlsTarget(SERVER_URL) : undefined;

/**
 * A URL that logs in as `role`, in the default sslmode (prefer): over TLS, with the server's CA
 * trusted, when the server offers TLS.
 */
function roleUrl(role: string, password?: string): string {
  const credentials = password === undefined ? role : `${role}:${encodeURIComponent(password)}`;
  const url = `postgres://${credentials}@127.0.0.1:5432/postgres`;
  return SERVER_TLS === undefined ? url : withParams(url, { sslrootcert: SERVER_TLS.rootFile });
}

/** Logs in as `role` and returns the server's idea of who that is. */
async function loginAs(
  role: string,
  password?: string,
  url = roleUrl(role, password),
): Promise<unknown> {
  return await withPool(url, { connectTimeoutMs: 5_000 }, async (pool) => {
    return (await within(row(pool, statement`select current_user as who`))).who;
  });
}

async function assertWrongPasswordFails(role: string, password: string) {
  const error = await rejection(loginAs(role, password));
  assertConnectionError(error, "AUTH_FAILED");
  assertPgError(error.cause, "28P01");
  assertNoSecret(error, password);
}

const authTest = (name: string, fn: () => Promise<void>) =>
  Deno.test({ name, ignore: !AUTH_TESTS, fn });

authTest(
  "the client logs in with scram-sha-256 and fails a wrong password with AUTH_FAILED",
  async () => {
    const role = AUTH_ROLES["scram-sha-256"];
    const password = `scram-${crypto.randomUUID()}`;
    await withLoginRole(role, "scram-sha-256", password, async () => {
      assert.equal(await loginAs(role, password), role);
      await assertWrongPasswordFails(role, `${password}x`);
    });
  },
);

authTest(
  "the client logs in with md5, whatever the salt, and fails a wrong password with AUTH_FAILED",
  async () => {
    const role = AUTH_ROLES.md5;
    const password = `md5-${crypto.randomUUID()}`;
    await withLoginRole(role, "md5", password, async () => {
      // Each login has a random salt; eight of them all but surely include bytes above 0x7f.
      for (let i = 0; i < 8; i++) assert.equal(await loginAs(role, password), role, `login ${i}`);
      await assertWrongPasswordFails(role, `${password}x`);
    });
  },
);

authTest(
  "the client logs in with a cleartext password and fails a wrong one with AUTH_FAILED",
  async () => {
    const role = AUTH_ROLES.password;
    const password = `plain-${crypto.randomUUID()}`;
    await withLoginRole(role, "scram-sha-256", password, async () => {
      assert.equal(await loginAs(role, password), role);
      await assertWrongPasswordFails(role, `${password}x`);
    });
  },
);

authTest("a password with @ : / % percent-encoded in the URL logs in", async () => {
  const role = AUTH_ROLES["scram-sha-256"];
  const password = `p@ss:w/rd%41?#&=+ 'é`;
  await withLoginRole(role, "scram-sha-256", password, async () => {
    assert.equal(await loginAs(role, password), role);
  });
});

authTest("a role that needs a password fails with AUTH_FAILED when the URL has none", async () => {
  const role = AUTH_ROLES["scram-sha-256"];
  await withLoginRole(role, "scram-sha-256", `scram-${crypto.randomUUID()}`, async () => {
    const error = await rejection(loginAs(role));
    assertConnectionError(error, "AUTH_FAILED");
  });
});

authTest("a SCRAM password is normalized as the server normalizes it (SASLprep)", async () => {
  const role = AUTH_ROLES["scram-sha-256"];
  // The server stores SASLprep("Ⅸ-pw") = "IX-pw" (NFKC); the client must send the same.
  const password = "\u2168-pw";
  await withLoginRole(role, "scram-sha-256", password, async () => {
    assert.equal(await loginAs(role, password), role);
  });
});

authTest(
  "a cleartext password crosses the wire only inside TLS when the server offers TLS",
  async () => {
    assert.ok(SERVER_TLS, "the server offers no TLS");
    const role = AUTH_ROLES.password;
    const password = `plain-${crypto.randomUUID()}`;
    await withLoginRole(role, "scram-sha-256", password, async () => {
      const relay = startRecordingRelay({ hostname: "127.0.0.1", port: 5432 });
      try {
        // sslmode prefer, the default: the server offers TLS and its CA is trusted.
        await withPool(relay.urlFor(roleUrl(role, password)), {}, async (pool) => {
          assert.deepEqual(
            await within(
              row(pool, statement`select ssl from pg_stat_ssl where pid = pg_backend_pid()`),
            ),
            { ssl: true },
          );
        });
        assert.ok(relay.clientBytes().length > 0);
        assert.ok(!contains(relay.clientBytes(), encoder.encode(password)), "password in clear");
        assert.ok(!contains(relay.clientBytes(), encoder.encode(role)), "startup in clear");
      } finally {
        await relay.close();
      }
    });
  },
);

authTest(
  "a server that offers TLS with a certificate the client cannot verify never gets the password",
  async () => {
    assert.ok(SERVER_TLS, "the server offers no TLS");
    const role = AUTH_ROLES.password;
    const password = `plain-${crypto.randomUUID()}`;
    await withLoginRole(role, "scram-sha-256", password, async () => {
      const relay = startRecordingRelay({ hostname: "127.0.0.1", port: 5432 });
      try {
        const url = `postgres://${role}:${password}@127.0.0.1:${relay.port}/postgres`;
        const error = await rejection(loginAs(role, password, url));
        assertConnectionError(error, "CONNECT_FAILED");
        assert.match(error.message, /sslrootcert=/);
        assert.match(error.message, /sslmode=disable/);
        assertNoSecret(error, password);
        assert.ok(!contains(relay.clientBytes(), encoder.encode(password)), "password in clear");
        assert.ok(!contains(relay.clientBytes(), encoder.encode(role)), "startup in clear");
      } finally {
        await relay.close();
      }
    });
  },
);
