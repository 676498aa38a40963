/**
 * TLS by sslmode: through a local TLS-terminating relay (answering SSLRequest as told), and on the
 * DATABASE_URL server's own TLS when it has it (CI turns it on with tests/fixtures/tls).
 */
import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import {
  isSupabaseHost,
  SUPABASE_ROOT_CA_2021,
} from "../../supabase/functions/_shared/pg/supabase_ca.ts";
import { parseDatabaseUrl, statement } from "../../supabase/functions/_shared/pg/mod.ts";
import {
  assertConnectionError,
  CA_FILE,
  closeQuietly,
  concat,
  contains,
  DATABASE_URL,
  dbTest,
  encoder,
  pipe,
  portOf,
  readExactly,
  rejection,
  row,
  serverTlsTarget,
  SSL_REQUEST_CODE,
  startRecordingRelay,
  TLS_FIXTURES,
  uniqueName,
  within,
  withParams,
  withPool,
} from "./support.ts";

/** The DATABASE_URL server over TLS, when it has TLS on (as on CI). */
const SERVER_TLS = await serverTlsTarget();

/** A TLS-terminating relay in front of a database, as a server with `ssl = on` behaves. */
interface TlsRelay {
  port: number;
  /** SSLRequests answered so far. */
  readonly sslRequests: number;
  /** TLS handshakes completed so far. */
  readonly tlsSessions: number;
  /** Every byte the clients sent, as they went over the wire. */
  wireBytes(): Uint8Array;
  close(): Promise<void>;
}

/**
 * Answers an SSLRequest with `answer`; after "S", the client's TLS handshake is relayed to a
 * local TLS listener (Deno cannot start TLS as the server on an accepted connection), whose plain
 * side is piped to the database. Without an SSLRequest, the connection is relayed as it is.
 */
async function startTlsRelay(databaseUrl: string, answer: "S" | "N"): Promise<TlsRelay> {
  const target = parseDatabaseUrl(databaseUrl);
  const [cert, key] = await Promise.all([
    Deno.readTextFile(new URL("server.crt", TLS_FIXTURES)),
    Deno.readTextFile(new URL("server.key", TLS_FIXTURES)),
  ]);
  const tlsListener = Deno.listenTls({ hostname: "127.0.0.1", port: 0, cert, key });
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const tasks = new Set<Promise<void>>();
  const conns = new Set<Deno.Conn>();
  const wire: Uint8Array[] = [];
  let sslRequests = 0;
  let tlsSessions = 0;

  const track = (task: Promise<void>) => {
    const done = task.catch(() => {}).finally(() => tasks.delete(done));
    tasks.add(done);
  };
  const open = async (hostname: string, port: number) => {
    const conn = await Deno.connect({ hostname, port });
    conns.add(conn);
    return conn;
  };
  const toDatabase = () => open(target.hostname, target.port);

  const serveTls = async (conn: Deno.TlsConn) => {
    conns.add(conn);
    await conn.handshake();
    tlsSessions += 1;
    const database = await toDatabase();
    await Promise.all([pipe(conn, database), pipe(database, conn)]);
  };
  const serve = async (client: Deno.Conn) => {
    conns.add(client);
    const head = await readExactly(client, 8);
    if (!head) return closeQuietly(client);
    wire.push(head);
    let inner: Deno.Conn;
    if (new DataView(head.buffer).getInt32(4) === SSL_REQUEST_CODE) {
      sslRequests += 1;
      await client.write(encoder.encode(answer));
      inner = answer === "S" ? await open("127.0.0.1", portOf(tlsListener)) : await toDatabase();
    } else {
      inner = await toDatabase();
      await inner.write(head);
    }
    await Promise.all([pipe(client, inner, (chunk) => wire.push(chunk)), pipe(inner, client)]);
  };

  const accepting = [
    (async () => {
      for await (const conn of tlsListener) track(serveTls(conn));
    })().catch(() => {}),
    (async () => {
      for await (const conn of listener) track(serve(conn));
    })().catch(() => {}),
  ];
  return {
    port: portOf(listener),
    get sslRequests() {
      return sslRequests;
    },
    get tlsSessions() {
      return tlsSessions;
    },
    wireBytes: () => concat(wire),
    async close() {
      listener.close();
      tlsListener.close();
      await Promise.all(accepting);
      for (const conn of conns) closeQuietly(conn);
      await Promise.all([...tasks]);
    },
  };
}

/** `databaseUrl` pointed at the relay under `hostname`, with TLS settings. */
function relayUrl(
  databaseUrl: string,
  relay: TlsRelay,
  hostname: string,
  params: Record<string, string>,
): string {
  const url = new URL(withParams(databaseUrl, params));
  url.hostname = hostname;
  url.port = String(relay.port);
  return url.href;
}

dbTest(
  "sslmode=verify-full with the server's CA connects over TLS, encrypting every statement",
  async (db) => {
    const relay = await startTlsRelay(db.url, "S");
    try {
      const url = relayUrl(db.url, relay, "localhost", {
        sslmode: "verify-full",
        sslrootcert: CA_FILE,
      });
      await withPool(url, {}, async (pool) => {
        assert.deepEqual(await within(row(pool, statement`select 'pg_test_tls_marker' as said`)), {
          said: "pg_test_tls_marker",
        });
      });
      assert.equal(relay.sslRequests, 1);
      assert.equal(relay.tlsSessions, 1);
      assert.ok(!contains(relay.wireBytes(), encoder.encode("pg_test_tls_marker")));
    } finally {
      await relay.close();
    }
  },
);

dbTest(
  "sslmode=require also checks the certificate against the trusted authorities",
  async (db) => {
    const relay = await startTlsRelay(db.url, "S");
    try {
      const trusted = relayUrl(db.url, relay, "localhost", {
        sslmode: "require",
        sslrootcert: CA_FILE,
      });
      await withPool(trusted, {}, async (pool) => {
        assert.deepEqual(await within(row(pool, statement`select 1 as one`)), { one: 1 });
      });
      const untrusted = relayUrl(db.url, relay, "localhost", { sslmode: "require" });
      await withPool(untrusted, {}, async (pool) => {
        const error = await rejection(pool.query(statement`select 1`));
        assertConnectionError(error, "CONNECT_FAILED");
        assert.match(error.message, /certificate|issuer/i);
      });
    } finally {
      await relay.close();
    }
  },
);

dbTest("TLS refuses a certificate for another host name", async (db) => {
  const relay = await startTlsRelay(db.url, "S");
  try {
    const url = relayUrl(db.url, relay, "127.0.0.1", {
      sslmode: "verify-full",
      sslrootcert: CA_FILE,
    });
    await withPool(url, {}, async (pool) => {
      const error = await rejection(pool.query(statement`select 1`));
      assertConnectionError(error, "CONNECT_FAILED");
      assert.match(error.message, /not valid for name "127\.0\.0\.1"/);
    });
    assert.equal(relay.tlsSessions, 0);
  } finally {
    await relay.close();
  }
});

dbTest(
  "sslmode=require against a server that refuses TLS fails with CONNECT_FAILED naming TLS",
  async (db) => {
    const relay = await startTlsRelay(db.url, "N");
    try {
      for (const sslmode of ["require", "verify-ca", "verify-full"]) {
        const url = relayUrl(db.url, relay, "localhost", { sslmode, sslrootcert: CA_FILE });
        await withPool(url, {}, async (pool) => {
          const error = await rejection(pool.query(statement`select 1`));
          assertConnectionError(error, "CONNECT_FAILED");
          assert.match(error.message, /TLS/);
          assert.ok(error.message.includes(sslmode), error.message);
        });
      }
    } finally {
      await relay.close();
    }
  },
);

dbTest(
  "sslmode disable and allow connect in plain text without asking for TLS",
  async (db) => {
    const relay = await startTlsRelay(db.url, "S");
    try {
      for (const sslmode of ["disable", "allow"]) {
        const url = relayUrl(db.url, relay, "127.0.0.1", { sslmode });
        await withPool(url, {}, async (pool) => {
          assert.deepEqual(
            await within(row(pool, statement`select 1 as one`)),
            { one: 1 },
            sslmode,
          );
        });
      }
      assert.equal(relay.sslRequests, 0);
      assert.equal(relay.tlsSessions, 0);
    } finally {
      await relay.close();
    }
  },
);

dbTest(
  "sslmode prefer, the default, uses TLS when the server accepts, encrypting every statement",
  async (db) => {
    const relay = await startTlsRelay(db.url, "S");
    try {
      // The relay's certificate names localhost; prefer checks the chain, not the host name.
      const url = relayUrl(db.url, relay, "127.0.0.1", { sslrootcert: CA_FILE });
      const withoutMode = new URL(url);
      withoutMode.searchParams.delete("sslmode");
      await withPool(withoutMode.href, {}, async (pool) => {
        assert.deepEqual(
          await within(row(pool, statement`select 'pg_test_prefer_marker' as said`)),
          {
            said: "pg_test_prefer_marker",
          },
        );
      });
      assert.equal(relay.sslRequests, 1);
      assert.equal(relay.tlsSessions, 1);
      assert.ok(!contains(relay.wireBytes(), encoder.encode("pg_test_prefer_marker")));
    } finally {
      await relay.close();
    }
  },
);

dbTest("sslmode prefer connects in plain text when the server declines TLS", async (db) => {
  const relay = await startTlsRelay(db.url, "N");
  try {
    const url = relayUrl(db.url, relay, "127.0.0.1", { sslmode: "prefer" });
    await withPool(url, {}, async (pool) => {
      assert.deepEqual(await within(row(pool, statement`select 'pg_test_plain_marker' as said`)), {
        said: "pg_test_plain_marker",
      });
    });
    assert.equal(relay.sslRequests, 1);
    assert.equal(relay.tlsSessions, 0);
    assert.ok(contains(relay.wireBytes(), encoder.encode("pg_test_plain_marker")));
  } finally {
    await relay.close();
  }
});

dbTest(
  "sslmode prefer never falls back to plain text when the server accepted TLS and its certificate fails",
  async (db) => {
    const relay = await startTlsRelay(db.url, "S");
    try {
      const url = relayUrl(db.url, relay, "127.0.0.1", { sslmode: "prefer" });
      await withPool(url, {}, async (pool) => {
        const error = await rejection(pool.query(statement`select 'pg_test_refused_marker'`));
        assertConnectionError(error, "CONNECT_FAILED");
        assert.match(error.message, /the server offered TLS/);
        assert.match(error.message, /sslrootcert=/);
        assert.match(error.message, /sslmode=disable/);
      });
      assert.equal(relay.tlsSessions, 0);
      // The SSLRequest and a TLS handshake, never a startup message or a query in plain text.
      assert.ok(!contains(relay.wireBytes(), encoder.encode("user\0")));
      assert.ok(!contains(relay.wireBytes(), encoder.encode("pg_test_refused_marker")));
    } finally {
      await relay.close();
    }
  },
);

dbTest("sslmode require and verify-ca check the chain but not the host name", async (db) => {
  const relay = await startTlsRelay(db.url, "S");
  try {
    for (const sslmode of ["require", "verify-ca"]) {
      const url = relayUrl(db.url, relay, "127.0.0.1", { sslmode, sslrootcert: CA_FILE });
      await withPool(url, {}, async (pool) => {
        assert.deepEqual(await within(row(pool, statement`select 1 as one`)), { one: 1 }, sslmode);
      });
    }
    assert.equal(relay.tlsSessions, 2);
  } finally {
    await relay.close();
  }
});

dbTest("sslrootcert may hold the CA's PEM itself, percent-encoded in the URL", async (db) => {
  const relay = await startTlsRelay(db.url, "S");
  try {
    const pem = await Deno.readTextFile(CA_FILE);
    const url = relayUrl(db.url, relay, "localhost", { sslmode: "verify-full", sslrootcert: pem });
    assert.ok(url.includes("%2B") || !pem.includes("+"), "the PEM's + survives the URL");
    await withPool(url, {}, async (pool) => {
      assert.deepEqual(await within(row(pool, statement`select 1 as one`)), { one: 1 });
    });
    // Pasted without percent-encoding, "+" reads as a space; the client puts it back.
    const pasted = `${relayUrl(db.url, relay, "localhost", { sslmode: "verify-full" })}` +
      `&sslrootcert=${pem.replaceAll("\n", "%0A")}`;
    await withPool(pasted, {}, async (pool) => {
      assert.deepEqual(await within(row(pool, statement`select 2 as two`)), { two: 2 });
    });
    assert.equal(relay.tlsSessions, 2);
  } finally {
    await relay.close();
  }
});

dbTest(
  "an sslrootcert file that cannot be read fails the connection, naming the file",
  async (db) => {
    const relay = await startTlsRelay(db.url, "S");
    try {
      const missing = `/nonexistent/${uniqueName("ca")}.pem`;
      const url = relayUrl(db.url, relay, "localhost", {
        sslmode: "require",
        sslrootcert: missing,
      });
      await withPool(url, {}, async (pool) => {
        const error = await rejection(pool.query(statement`select 1`));
        assertConnectionError(error, "CONNECT_FAILED");
        assert.ok(error.message.includes(`sslrootcert "${missing}"`), error.message);
      });
    } finally {
      await relay.close();
    }
  },
);

Deno.test("the shipped Supabase CA is Supabase Root 2021 CA, by its published fingerprint", () => {
  const certificate = new X509Certificate(SUPABASE_ROOT_CA_2021);
  assert.equal(
    certificate.fingerprint256,
    "80:70:25:AD:50:D4:ED:21:9D:2C:9C:7D:29:9C:00:4F:82:4E:B0:0C:F7:F6:5A:FE:F6:07:D0:7B:72:E6:CA:FA",
  );
  assert.match(certificate.subject, /CN=Supabase Root 2021 CA/);
  assert.equal(certificate.issuer, certificate.subject);
  assert.equal(certificate.ca, true);
  assert.ok(certificate.verify(certificate.publicKey), "self-signed");
});

Deno.test("Supabase's CA is trusted for Supabase's hosts only", () => {
  for (
    const host of [
      "db.abcdefghij.supabase.co",
      "aws-0-eu-west-1.pooler.supabase.com",
      "DB.X.SUPABASE.CO.",
    ]
  ) {
    assert.equal(isSupabaseHost(host), true, host);
  }
  for (
    const host of [
      "supabase.co.evil.example",
      "evilsupabase.co",
      "localhost",
      "127.0.0.1",
      "supabase.com",
    ]
  ) {
    assert.equal(isSupabaseHost(host), false, host);
  }
});

Deno.test({
  name: "the server's own TLS: verify-full gives an encrypted session",
  ignore: SERVER_TLS === undefined,
  fn: async () => {
    assert.ok(SERVER_TLS);
    const url = withParams(SERVER_TLS.url, {
      sslmode: "verify-full",
      sslrootcert: SERVER_TLS.rootFile,
    });
    await withPool(url, {}, async (pool) => {
      assert.deepEqual(
        await within(
          row(pool, statement`select ssl from pg_stat_ssl where pid = pg_backend_pid()`),
        ),
        { ssl: true },
      );
    });
  },
});

Deno.test({
  name: "the server's own TLS: sslmode prefer, the default, ends encrypted",
  ignore: SERVER_TLS === undefined,
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    assert.ok(SERVER_TLS);
    // DATABASE_URL's own host (127.0.0.1): prefer checks the chain, not the name.
    const url = new URL(
      withParams(DATABASE_URL ?? SERVER_TLS.url, { sslrootcert: SERVER_TLS.rootFile }),
    );
    url.searchParams.delete("sslmode");
    await withPool(url.href, {}, async (pool) => {
      assert.deepEqual(
        await within(
          row(pool, statement`select ssl from pg_stat_ssl where pid = pg_backend_pid()`),
        ),
        { ssl: true },
      );
    });
  },
});

Deno.test({
  name: "the server's own TLS: the cancel of a timed-out query goes over TLS too",
  ignore: SERVER_TLS === undefined,
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    assert.ok(SERVER_TLS);
    const url = new URL(
      withParams(DATABASE_URL ?? SERVER_TLS.url, { sslrootcert: SERVER_TLS.rootFile }),
    );
    url.searchParams.delete("sslmode");
    const relay = startRecordingRelay({ hostname: url.hostname, port: Number(url.port || 5432) });
    try {
      await withPool(relay.urlFor(url.href), { max: 1, queryTimeoutMs: 200 }, async (pool) => {
        const error = await rejection(pool.query(statement`select pg_sleep(5)`), 3_000);
        assertConnectionError(error, "QUERY_TIMEOUT");
      });
      const sent = relay.clientBytes();
      // Two SSLRequests (the connection's and the cancel's), and no CancelRequest in clear.
      const sslRequest = new Uint8Array([0, 0, 0, 8, 4, 210, 22, 47]);
      const cancelCode = new Uint8Array([0, 0, 0, 16, 4, 210, 22, 46]);
      let count = 0;
      for (let at = 0; at + 8 <= sent.length; at++) {
        if (sent.subarray(at, at + 8).every((byte, i) => byte === sslRequest[i])) count++;
      }
      assert.equal(count, 2);
      assert.ok(!contains(sent, cancelCode));
    } finally {
      await relay.close();
    }
  },
});
