/** One connection: statement errors, lost connections, timeouts (and the cancel they send), and failures to connect. */
import assert from "node:assert/strict";
import {
  createPool,
  PgConnectionError,
  statement,
} from "../../supabase/functions/_shared/pg/mod.ts";
import {
  assertConnectionError,
  assertNoSecret,
  assertPgError,
  AUTH_OK,
  backend,
  closeQuietly,
  concat,
  dbTest,
  encoder,
  newTable,
  numbersIn,
  ON_SERVER,
  portOf,
  readExactly,
  READY,
  rejection,
  row,
  scriptedServer,
  sleep,
  SSL_REQUEST_CODE,
  testSql,
  uniqueName,
  within,
  withParams,
  withPool,
  withProxiedPool,
} from "./support.ts";

// ---- errors -------------------------------------------------------------------------------------

dbTest(
  "a statement error rejects with its SQLSTATE and the connection stays in use",
  async (db) => {
    const table = await newTable(db);
    await db.sql.unsafe(`insert into ${table} values (1)`);
    await withProxiedPool(db.url, { max: 1 }, async (pool, proxy) => {
      const division = await rejection(pool.query(statement`select 1/0`));
      assertPgError(division, "22012");
      assert.equal(division.severity, "ERROR");
      assert.equal(division.message, "division by zero");

      assertPgError(
        await rejection(pool.query(testSql(`select * from ${uniqueName("missing")}`))),
        "42P01",
      );

      const duplicate = await rejection(pool.query(testSql(`insert into ${table} values (1)`)));
      assertPgError(duplicate, "23505");
      assert.match(duplicate.detail ?? "", /\(n\)=\(1\) already exists/);

      assert.deepEqual(await row(pool, statement`select 2 as two`), { two: 2 });
      assert.equal(proxy.accepted, 1);
    });
  },
);

dbTest(
  "an error stops the rest of a multi-statement text, which then rolls back whole",
  async (db) => {
    const table = await newTable(db);
    // A sequence is not transactional: nextval after the error would leave a trace.
    const sequence = uniqueName("s");
    await db.sql.unsafe(`create sequence ${sequence}`);
    await withPool(db.url, {}, async (pool) => {
      const error = await rejection(
        pool.query(
          testSql(`insert into ${table} values (1); select 1/0; select nextval('${sequence}');
        insert into ${table} values (2)`),
        ),
      );
      assertPgError(error, "22012");
    });
    assert.deepEqual(await numbersIn(db, table), []);
    const [state] = await db.sql.unsafe(`select is_called from ${sequence}`);
    assert.equal(state?.is_called, false);
  },
);

for (const mode of ["close", "reset"] as const) {
  dbTest(
    `a connection lost mid-query (${mode}) fails it with CONNECTION_LOST at once and the next query gets a fresh connection`,
    async (db) => {
      await withProxiedPool(db.url, { max: 1 }, async (pool, proxy) => {
        await pool.query(statement`select 1`);
        proxy.cutMode = mode;
        proxy.dropWhenClientSends("pg_test_lost_marker");
        const started = Date.now();
        const error = await rejection(pool.query(statement`select 'pg_test_lost_marker'`), 2_000);
        assertConnectionError(error, "CONNECTION_LOST");
        assert.ok(Date.now() - started < 1_000, `Took ${Date.now() - started} ms`);
        proxy.dropWhenClientSends(null);
        assert.deepEqual(await within(row(pool, statement`select 2 as two`)), { two: 2 });
        assert.equal(proxy.accepted, 2);
      });
    },
  );
}

dbTest("a connection lost while waiting for the answer fails the query at once", async (db) => {
  await withProxiedPool(db.url, { max: 1 }, async (pool, proxy) => {
    await pool.query(statement`select 1`);
    proxy.latencyMs = 1_000; // the answer cannot come before the cut
    const query = pool.query(statement`select 1`);
    await sleep(50);
    const started = Date.now();
    proxy.reset();
    assertConnectionError(await rejection(query, 2_000), "CONNECTION_LOST");
    assert.ok(Date.now() - started < 500, `Took ${Date.now() - started} ms`);
    proxy.latencyMs = 0;
    assert.deepEqual(await within(row(pool, statement`select 2 as two`)), { two: 2 });
  });
});

dbTest(
  "a server that stops answering fails the query with QUERY_TIMEOUT and the next query gets a fresh connection",
  async (db) => {
    await withProxiedPool(db.url, { max: 1, queryTimeoutMs: 200 }, async (pool, proxy) => {
      await pool.query(statement`select 1`);
      proxy.latencyMs = 1_000; // nothing comes back within the timeout
      const started = Date.now();
      const error = await rejection(pool.query(statement`select 1`), 2_000);
      assertConnectionError(error, "QUERY_TIMEOUT");
      const took = Date.now() - started;
      assert.ok(took >= 190 && took < 1_500, `Took ${took} ms`);
      proxy.latencyMs = 0;
      assert.deepEqual(await within(row(pool, statement`select 2 as two`)), { two: 2 });
      // The first connection, the one that asked the server to cancel, and a fresh one.
      assert.equal(proxy.accepted, 3, "the silent connection was closed, not reused");
    });
  },
);

dbTest("a slow answer within the query timeout is not cut", async (db) => {
  await withPool(db.url, { max: 1, queryTimeoutMs: 2_000 }, async (pool) => {
    assert.deepEqual(await within(row(pool, statement`select pg_sleep(0.3) is null as slept`)), {
      slept: false,
    });
  });
});

dbTest(
  "a backend terminated mid-query fails the query at once with CONNECTION_LOST",
  async (db) => {
    const app = uniqueName("pg_test_kill");
    await withPool(withParams(db.url, { application_name: app }), { max: 1 }, async (pool) => {
      const query = pool.query(statement`select pg_sleep(30)`);
      query.catch(() => {});
      let killed = false;
      for (let i = 0; i < 100 && !killed; i++) {
        const [hit] = await db.sql.unsafe(
          `select pg_terminate_backend(pid) as killed from pg_stat_activity
        where application_name = '${app}' and query like '%pg_sleep(30)%'`,
        );
        killed = hit?.killed === true;
        if (!killed) await sleep(20);
      }
      assert.ok(killed, "The query never showed in pg_stat_activity");
      const error = await rejection(query, 2_000);
      assertConnectionError(error, "CONNECTION_LOST");
      assert.deepEqual(await within(row(pool, statement`select 2 as two`)), { two: 2 });
    });
  },
  { ignore: !ON_SERVER },
);

dbTest("a COPY statement fails with PROTOCOL_VIOLATION and the pool carries on", async (db) => {
  await withPool(db.url, { max: 1 }, async (pool) => {
    assertConnectionError(
      await rejection(pool.query(statement`copy (select 1) to stdout`)),
      "PROTOCOL_VIOLATION",
    );
    assert.deepEqual(await within(row(pool, statement`select 2 as two`)), { two: 2 });
  });
});

/** A server that accepts connections and never says a word. */
function startSilentServer(): { port: number; close(): Promise<void> } {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const held = new Set<Deno.Conn>();
  const accepting = (async () => {
    for await (const conn of listener) held.add(conn);
  })().catch(() => {});
  return {
    port: portOf(listener),
    async close() {
      listener.close();
      await accepting;
      for (const conn of held) closeQuietly(conn);
    },
  };
}

Deno.test("a server that accepts and never answers fails the connection with CONNECT_TIMEOUT", async () => {
  const server = startSilentServer();
  try {
    const url = `postgres://app:pw@127.0.0.1:${server.port}/appdb`;
    await withPool(url, { connectTimeoutMs: 200 }, async (pool) => {
      const started = Date.now();
      const error = await rejection(pool.query(statement`select 1`), 3_000);
      assertConnectionError(error, "CONNECT_TIMEOUT");
      assert.match(error.message, new RegExp(`127\\.0\\.0\\.1:${server.port}`));
      const elapsed = Date.now() - started;
      assert.ok(elapsed >= 150 && elapsed < 1_500, `Took ${elapsed} ms`);
    });
  } finally {
    await server.close();
  }
});

Deno.test("queries queued behind connections that time out all fail with CONNECT_TIMEOUT", async () => {
  const server = startSilentServer();
  try {
    const url = `postgres://app:pw@127.0.0.1:${server.port}/appdb`;
    await withPool(url, { max: 2, connectTimeoutMs: 100 }, async (pool) => {
      const outcomes = await within(Promise.allSettled(
        Array.from({ length: 6 }, () => pool.query(statement`select 1`)),
      ));
      for (const outcome of outcomes) {
        assert.equal(outcome.status, "rejected");
        if (outcome.status === "rejected") assertConnectionError(outcome.reason, "CONNECT_TIMEOUT");
      }
    });
  } finally {
    await server.close();
  }
});

/**
 * A port where connecting never completes the TCP handshake, as for a host that drops packets: a
 * listener that never accepts, its backlog filled, so the kernel ignores further SYNs.
 */
async function startBlackHole(): Promise<{ port: number; close(): void }> {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = portOf(listener);
  const held: Deno.Conn[] = [];
  const close = () => {
    closeQuietly(listener);
    for (const conn of held) closeQuietly(conn);
  };
  // Full once two connects in a row hang (one could just be slow).
  for (let i = 0, hung = 0; i < 20_000 && hung < 2; i++) {
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), 100);
    try {
      held.push(await Deno.connect({ hostname: "127.0.0.1", port, signal: abort.signal }));
      hung = 0;
    } catch {
      hung += 1;
      if (hung === 2) return { port, close };
    } finally {
      clearTimeout(timer);
    }
  }
  close();
  throw new Error("Could not fill the listen backlog");
}

Deno.test("a host that never completes the TCP handshake fails with CONNECT_TIMEOUT after connectTimeoutMs", async () => {
  const hole = await startBlackHole();
  const pool = createPool(`postgres://app:pw@127.0.0.1:${hole.port}/appdb`, {
    connectTimeoutMs: 200,
  });
  const query = pool.query(statement`select 1`);
  query.catch(() => {});
  try {
    const started = Date.now();
    const error = await rejection(query, 2_000);
    assertConnectionError(error, "CONNECT_TIMEOUT");
    assert.ok(Date.now() - started < 1_500, `Took ${Date.now() - started} ms`);
  } finally {
    hole.close(); // the pending connect is refused now, and settles
    await within(query.catch(() => {}), 10_000);
    await pool.end();
  }
});

Deno.test("a refused connection fails with CONNECT_FAILED, the OS's reason and no password", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = portOf(listener);
  listener.close();
  const password = "Hunter2-secret";
  await withPool(`postgres://app:${password}@127.0.0.1:${port}/appdb`, {}, async (pool) => {
    const error = await rejection(pool.query(statement`select 1`));
    assertConnectionError(error, "CONNECT_FAILED");
    assert.match(error.message, new RegExp(`127\\.0\\.0\\.1:${port}: .*refused`, "i"));
    assert.ok(error.cause instanceof Error);
    assertNoSecret(error, password);
  });
});

dbTest("connecting to a database that does not exist fails with the server's 3D000", async (db) => {
  const url = new URL(db.url);
  url.pathname = `/${uniqueName("missing")}`;
  await withPool(url.href, {}, async (pool) => {
    const error = await rejection(pool.query(statement`select 1`));
    const reported = error instanceof PgConnectionError ? error.cause : error;
    assertPgError(reported, "3D000");
  });
}, { ignore: !ON_SERVER });

Deno.test("a query past its timeout sends a CancelRequest with the backend's pid and secret, on a connection of its own", async () => {
  let cancel: Uint8Array | null = null;
  let cancelAskedForTls = false;
  const server = scriptedServer(async (peer, index) => {
    if (index === 0) {
      await peer.startup();
      await peer.send(AUTH_OK, backend("K", 4242, -171717), READY);
      while (await peer.next()); // never answers
      return;
    }
    let head = await readExactly(peer.conn, 8);
    if (head && new DataView(head.buffer).getInt32(4) === SSL_REQUEST_CODE) {
      cancelAskedForTls = true;
      await peer.send(encoder.encode("N"));
      head = await readExactly(peer.conn, 8);
    }
    const rest = head && await readExactly(peer.conn, 8);
    cancel = head && rest && concat([head, rest]);
  });
  try {
    await withPool(server.url(), { max: 1, queryTimeoutMs: 100 }, async (pool) => {
      const error = await rejection(pool.query(statement`select pg_sleep(30)`), 2_000);
      assertConnectionError(error, "QUERY_TIMEOUT");
    });
    assert.ok(cancel, "no CancelRequest arrived");
    const view = new DataView((cancel as Uint8Array).buffer);
    assert.deepEqual(
      [view.getInt32(0), view.getInt32(4), view.getInt32(8), view.getInt32(12)],
      [16, 80877102, 4242, -171717],
    );
    assert.ok(cancelAskedForTls, "the cancel's connection follows sslmode prefer too");
    assert.equal(server.accepted, 2);
  } finally {
    await server.close();
  }
});

dbTest(
  "a query past its timeout is cancelled on the server: its lock is free at once and it is gone from pg_stat_activity",
  async (db) => {
    const app = uniqueName("pg_test_cancel");
    const key = Math.floor(Math.random() * 1_000_000_000);
    await withPool(
      withParams(db.url, { application_name: app }),
      { max: 1, queryTimeoutMs: 300 },
      async (pool) => {
        const error = await rejection(
          pool.query(testSql(`select pg_advisory_xact_lock(${key}), pg_sleep(30)`)),
          3_000,
        );
        assertConnectionError(error, "QUERY_TIMEOUT");
      },
    );
    // Closing the socket alone would leave the backend asleep, holding the lock for 30 s.
    await db.sql.begin(async (tx) => {
      await tx.unsafe(`set local lock_timeout = '2s'`);
      await tx.unsafe(`select pg_advisory_xact_lock(${key})`);
    });
    for (let i = 0; i < 100; i++) {
      const [left] = await db.sql.unsafe(
        `select count(*)::int as n from pg_stat_activity
        where application_name = '${app}' and query like '%pg_sleep(30)%' and state = 'active'`,
      );
      if (left?.n === 0) return;
      await sleep(20);
    }
    assert.fail("The timed-out query still runs on the server");
  },
  { ignore: !ON_SERVER },
);
