/** Transactions: commit and rollback, BEGIN and COMMIT riding with the first and last statements, and their round trips. */
import assert from "node:assert/strict";
import { countRoundTrips } from "../../bench/round_trips.ts";
import { type Pool, statement } from "../../supabase/functions/_shared/pg/mod.ts";
import {
  assertPgError,
  dbTest,
  newTable,
  numbersIn,
  rejection,
  row,
  rowsOf,
  testSql,
  withPool,
  withProxiedPool,
} from "./support.ts";

// ---- transactions -------------------------------------------------------------------------------

dbTest(
  "a transaction whose work throws rolls back what it wrote and rejects with that error",
  async (db) => {
    const table = await newTable(db);
    const thrown = new Error("Stripe is down");
    await withProxiedPool(db.url, { max: 1 }, async (pool, proxy) => {
      const error = await rejection(pool.transaction(async (tx) => {
        await tx.query(testSql(`insert into ${table} values (1)`));
        throw thrown;
      }));
      assert.equal(error, thrown);
      assert.deepEqual(await numbersIn(db, table), []);
      // Rolled back, the connection is clean and reused.
      assert.deepEqual(await row(pool, statement`select 1 as one`), { one: 1 });
      assert.equal(proxy.accepted, 1);
    });
  },
);

dbTest("a transaction whose commit text fails rolls back the work before it", async (db) => {
  const table = await newTable(db);
  await withPool(db.url, { max: 1 }, async (pool) => {
    const error = await rejection(pool.transaction(async (tx) => {
      await tx.query(testSql(`insert into ${table} values (1)`));
      await tx.commit(testSql(`insert into ${table} values (2); insert into ${table} values (1)`));
    }));
    assertPgError(error, "23505");
    assert.deepEqual(await numbersIn(db, table), []);
    assert.deepEqual(await row(pool, statement`select 1 as one`), { one: 1 });
  });
});

dbTest("a transaction commits when its work returns without calling commit", async (db) => {
  const table = await newTable(db);
  await withPool(db.url, {}, async (pool) => {
    const result = await pool.transaction(async (tx) => {
      await tx.query(testSql(`insert into ${table} values (1)`));
      await tx.query(testSql(`insert into ${table} values (2)`));
      return "done";
    });
    assert.equal(result, "done");
  });
  assert.deepEqual(await numbersIn(db, table), [1, 2]);
});

dbTest("tx.query and tx.commit return only their own statements' results", async (db) => {
  const table = await newTable(db);
  await withPool(db.url, {}, async (pool) => {
    await pool.transaction(async (tx) => {
      assert.deepEqual(await tx.query(testSql(`insert into ${table} values (1); select 1 as a`)), [
        { command: "INSERT 0 1", rows: [] },
        { command: "SELECT 1", rows: [{ a: 1 }] },
      ]);
      assert.deepEqual(await tx.query(statement`select 2 as b`), [
        { command: "SELECT 1", rows: [{ b: 2 }] },
      ]);
      assert.deepEqual(await tx.commit(testSql(`insert into ${table} values (2);`)), [
        { command: "INSERT 0 1", rows: [] },
      ]);
    });
  });
  assert.deepEqual(await numbersIn(db, table), [1, 2]);
});

dbTest("a transaction that only calls commit(text) runs that text all or nothing", async (db) => {
  const table = await newTable(db);
  await withPool(db.url, {}, async (pool) => {
    const error = await rejection(
      pool.transaction((tx) =>
        tx.commit(testSql(`insert into ${table} values (1); insert into ${table} values (1)`))
      ),
    );
    assertPgError(error, "23505");
    assert.deepEqual(await numbersIn(db, table), []);
    const results = await pool.transaction((tx) =>
      tx.commit(testSql(`insert into ${table} values (1); insert into ${table} values (2)`))
    );
    assert.deepEqual(results.map((r) => r.command), ["INSERT 0 1", "INSERT 0 1"]);
  });
  assert.deepEqual(await numbersIn(db, table), [1, 2]);
});

dbTest("tx.query and tx.commit throw once the transaction is committed or over", async (db) => {
  await withPool(db.url, {}, async (pool) => {
    let kept: Parameters<Parameters<Pool["transaction"]>[0]>[0] | undefined;
    await pool.transaction(async (tx) => {
      kept = tx;
      await tx.query(statement`select 1`);
      await tx.commit();
      await assert.rejects(tx.query(statement`select 2`), /already over/);
      await assert.rejects(tx.commit(statement`select 3`), /already over/);
    });
    assert.ok(kept);
    await assert.rejects(kept.query(statement`select 4`), /already over/);
  });
});

dbTest(
  "a deferred constraint that fails at the implicit commit rejects the transaction",
  async (db) => {
    const table = await newTable(db, "n int, unique (n) deferrable initially deferred");
    await withPool(db.url, { max: 1 }, async (pool) => {
      const error = await rejection(pool.transaction(async (tx) => {
        await tx.query(testSql(`insert into ${table} values (1), (1)`));
      }));
      assertPgError(error, "23505");
      assert.deepEqual(await row(pool, statement`select 1 as one`), { one: 1 });
    });
    assert.deepEqual(await numbersIn(db, table), []);
  },
);

dbTest(
  "a transaction that fails while its statement is still in flight leaves nothing behind for the next query",
  async (db) => {
    const table = await newTable(db);
    await withPool(db.url, { max: 1 }, async (pool) => {
      const stripeDown = new Error("Stripe is down");
      const error = await rejection(pool.transaction(async (tx) => {
        // The insert is sent; the other half of the work fails before its answer comes.
        await Promise.all([
          tx.query(testSql(`insert into ${table} values (1)`)),
          Promise.reject(stripeDown),
        ]);
      }));
      assert.equal(error, stripeDown);
      assert.deepEqual(await pool.query(testSql(`insert into ${table} values (2)`)), [
        { command: "INSERT 0 1", rows: [] },
      ]);
    });
    assert.deepEqual(await numbersIn(db, table), [2]);
  },
);

dbTest(
  "a transaction whose work swallowed a statement error does not resolve as if committed",
  async (db) => {
    const table = await newTable(db);
    await withPool(db.url, { max: 1 }, async (pool) => {
      const outcome = await pool.transaction(async (tx) => {
        await tx.query(testSql(`insert into ${table} values (1)`));
        await tx.query(statement`select 1/0`).catch(() => {});
        return "resolved";
      }).catch(() => "rejected");
      // The failed statement aborted the transaction, so it cannot have committed the insert.
      assert.equal(outcome, "rejected");
      assert.deepEqual(await numbersIn(db, table), []);
    });
  },
);

// ---- round trips --------------------------------------------------------------------------------

dbTest("a transaction of tx.query then tx.commit(text) costs two round trips", async (db) => {
  const table = await newTable(db, "n int primary key, note text");
  const relay = countRoundTrips(db.url);
  try {
    await withPool(relay.url, { max: 1 }, async (pool) => {
      await pool.query(statement`select 1`); // opens the connection
      relay.reset();
      const results = await pool.transaction(async (tx) => {
        const [read] = await tx.query(testSql(`insert into ${table} values (1) returning n`));
        return await tx.commit(
          testSql(`update ${table} set note = 'after ${read?.rows[0]?.n}' returning note`),
        );
      });
      assert.equal(relay.count(), 2);
      assert.deepEqual(rowsOf(results), [{ note: "after 1" }]);
    });
  } finally {
    await relay.close();
  }
  const [saved] = await db.sql.unsafe(`select note from ${table}`);
  assert.equal(saved?.note, "after 1");
});

dbTest(
  "a query, a returning transaction and a commit-only transaction cost one, two and one round trips",
  async (db) => {
    const table = await newTable(db);
    const relay = countRoundTrips(db.url);
    try {
      await withPool(relay.url, { max: 1 }, async (pool) => {
        await pool.query(statement`select 1`);
        relay.reset();
        await pool.query(testSql(`insert into ${table} values (1)`));
        assert.equal(relay.count(), 1);
        relay.reset();
        await pool.transaction(async (tx) => {
          await tx.query(testSql(`insert into ${table} values (2)`));
        });
        assert.equal(relay.count(), 2);
        relay.reset();
        await pool.transaction((tx) => tx.commit(testSql(`insert into ${table} values (3)`)));
        assert.equal(relay.count(), 1);
      });
    } finally {
      await relay.close();
    }
    assert.deepEqual(await numbersIn(db, table), [1, 2, 3]);
  },
);
