/** The pool: how many connections it opens, reuses and closes, and how it ends. */
import assert from "node:assert/strict";
import { statement } from "../../supabase/functions/_shared/pg/mod.ts";
import {
  assertConnectionError,
  dbTest,
  newTable,
  numbersIn,
  ON_SERVER,
  rejection,
  row,
  rowsOf,
  sleep,
  testSql,
  uniqueName,
  within,
  withParams,
  withPool,
  withProxiedPool,
} from "./support.ts";

// ---- the pool -----------------------------------------------------------------------------------

dbTest("the pool opens at most max connections for 30 concurrent queries", async (db) => {
  await withProxiedPool(db.url, { max: 3 }, async (pool, proxy) => {
    const answers = await within(Promise.all(
      Array.from({ length: 30 }, (_, i) => row(pool, testSql(`select ${i} as i`))),
    ));
    assert.deepEqual(answers.map((a) => a.i), Array.from({ length: 30 }, (_, i) => i));
    assert.equal(proxy.accepted, 3);
  });
});

dbTest("the pool never has more than max sessions on the server", async (db) => {
  const app = uniqueName("pg_test_pool");
  const count = `select count(*)::int as n from pg_stat_activity where application_name = '${app}'`;
  await withPool(withParams(db.url, { application_name: app }), { max: 3 }, async (pool) => {
    const seen = await within(Promise.all(
      Array.from({ length: 30 }, () => row(pool, testSql(`select pg_sleep(0.02); ${count}`))),
    ));
    assert.equal(Math.max(...seen.map((s) => Number(s.n))), 3);
    const [idle] = await db.sql.unsafe(count);
    assert.equal(idle?.n, 3); // kept open for reuse
  });
  // After end(), the sessions go (their backends exit asynchronously).
  for (let i = 0; i < 50; i++) {
    const [left] = await db.sql.unsafe(count);
    if (left?.n === 0) return;
    await sleep(20);
  }
  assert.fail("The pool's sessions outlived end()");
}, { ignore: !ON_SERVER });

dbTest("the pool reuses an idle connection for the next query", async (db) => {
  await withProxiedPool(db.url, {}, async (pool, proxy) => {
    const first = await row(pool, statement`select pg_backend_pid() as pid`);
    const second = await row(pool, statement`select pg_backend_pid() as pid`);
    assert.equal(second.pid, first.pid);
    assert.equal(proxy.accepted, 1);
  });
});

dbTest("the pool closes a connection idle for longer than idleTimeoutMs", async (db) => {
  await withProxiedPool(db.url, { idleTimeoutMs: 30 }, async (pool, proxy) => {
    await pool.query(statement`select 1`);
    await sleep(120);
    await pool.query(statement`select 1`);
    assert.equal(proxy.accepted, 2);
  });
});

dbTest("a query that leaves a transaction open does not hand it to the next query", async (db) => {
  const table = await newTable(db);
  await withProxiedPool(db.url, { max: 1 }, async (pool, proxy) => {
    await pool.query(testSql(`begin; insert into ${table} values (1)`));
    assert.deepEqual(await row(pool, testSql(`select count(*)::int as n from ${table}`)), { n: 0 });
    assert.equal(proxy.accepted, 2);
  });
  assert.deepEqual(await numbersIn(db, table), []);
});

dbTest("onQuery sees each text the pool sends, BEGIN and COMMIT included", async (db) => {
  const sent: string[] = [];
  await withPool(db.url, { onQuery: (text) => sent.push(text) }, async (pool) => {
    await pool.query(statement`select 1`);
    await pool.transaction(async (tx) => {
      await tx.query(statement`select 2`);
      await tx.commit(statement`select 3`);
    });
  });
  assert.equal(sent.length, 3);
  assert.equal(sent[0], "select 1");
  assert.match(sent[1] ?? "", /^begin;\s*select 2$/i);
  assert.match(sent[2] ?? "", /^select 3\s*;\s*commit$/i);
});

dbTest("the startup parameters of the URL apply to the server session", async (db) => {
  const app = uniqueName("pg_test_app");
  const url = withParams(db.url, {
    application_name: app,
    options: "-c statement_timeout=4321",
  });
  await withPool(url, {}, async (pool) => {
    assert.deepEqual(
      await row(pool, statement`select current_setting('application_name') as app`),
      {
        app,
      },
    );
    assert.deepEqual(await row(pool, statement`show statement_timeout`), {
      statement_timeout: "4321ms",
    });
  });
}, { ignore: !ON_SERVER });

dbTest(
  "queries queued behind a pool whose connections cannot open all fail instead of hanging",
  async (db) => {
    await withProxiedPool(db.url, { max: 2 }, async (pool, proxy) => {
      await proxy.pause();
      const outcomes = await within(Promise.allSettled(
        Array.from({ length: 12 }, () => pool.query(statement`select 1`)),
      ));
      for (const outcome of outcomes) {
        assert.equal(outcome.status, "rejected");
        if (outcome.status === "rejected") assertConnectionError(outcome.reason, "CONNECT_FAILED");
      }
      proxy.resume();
      assert.deepEqual(await within(row(pool, statement`select 2 as two`)), { two: 2 });
    });
  },
);

dbTest(
  "end() lets a running query finish, fails queued ones with POOL_ENDED, then refuses more",
  async (db) => {
    await withProxiedPool(db.url, { max: 1 }, async (pool, proxy) => {
      await pool.query(statement`select 1`);
      proxy.latencyMs = 100;
      const running = pool.query(statement`select 1 as one`);
      const queued = pool.query(statement`select 2`);
      queued.catch(() => {});
      await within(pool.end({ timeoutMs: 5_000 }));
      assert.deepEqual(rowsOf(await running), [{ one: 1 }]);
      assertConnectionError(await rejection(queued), "POOL_ENDED");
      assertConnectionError(await rejection(pool.query(statement`select 3`)), "POOL_ENDED");
      assertConnectionError(
        await rejection(pool.transaction((tx) => tx.query(statement`select 4`))),
        "POOL_ENDED",
      );
    });
  },
);

dbTest("end() cuts a query still running after its timeoutMs with CONNECTION_LOST", async (db) => {
  await withProxiedPool(db.url, { max: 1 }, async (pool, proxy) => {
    await pool.query(statement`select 1`);
    proxy.latencyMs = 1_000; // the answer cannot come before end() gives up
    const running = pool.query(statement`select 1`);
    running.catch(() => {});
    const started = Date.now();
    await within(pool.end({ timeoutMs: 100 }), 2_000);
    assertConnectionError(await rejection(running, 2_000), "CONNECTION_LOST");
    assert.ok(Date.now() - started < 600, `Took ${Date.now() - started} ms`);
  });
});
