/** The wire: the startup message, values read back, results of one or several statements, and messages the client never asked for. */
import assert from "node:assert/strict";
import { statement } from "../../supabase/functions/_shared/pg/mod.ts";
import {
  assertConnectionError,
  assertPgError,
  AUTH_OK,
  backend,
  dbTest,
  errorMessage,
  newTable,
  numbersIn,
  ON_SERVER,
  READY,
  rejection,
  row,
  rowsOf,
  scriptedServer,
  testSql,
  uniqueName,
  within,
  withParams,
  withPool,
} from "./support.ts";

Deno.test("the client asks for TLS, then sends the user, the database, UTF-8 and the URL's startup parameters", async () => {
  let startup: Map<string, string> | undefined;
  let sslRequests = 0;
  const server = scriptedServer(async (peer) => {
    startup = await peer.startup();
    sslRequests = peer.sslRequests;
    await peer.send(AUTH_OK, READY);
    await peer.serveQueries();
  });
  try {
    const url = withParams(server.url("app user"), {
      application_name: "billing",
      statement_timeout: "5s",
    });
    await withPool(url, {}, (pool) => within(pool.query(statement`select 1`)));
    assert.deepEqual(Object.fromEntries(startup ?? []), {
      user: "app user",
      database: "appdb",
      client_encoding: "UTF8",
      application_name: "billing",
      statement_timeout: "5s",
    });
    assert.equal(sslRequests, 1, "sslmode prefer asks first; this server declines");
  } finally {
    await server.close();
  }
});

Deno.test("an unexpected message fails its query with PROTOCOL_VIOLATION and the pool opens a new connection", async () => {
  const server = scriptedServer(async (peer, index) => {
    await peer.startup();
    await peer.send(AUTH_OK, READY);
    if (index === 0) {
      await peer.next();
      await peer.send(backend("W", new Uint8Array(3))); // CopyBothResponse: never asked for
      await peer.next();
      return;
    }
    await peer.serveQueries();
  });
  try {
    await withPool(server.url(), { max: 1 }, async (pool) => {
      assertConnectionError(await rejection(pool.query(statement`select 1`)), "PROTOCOL_VIOLATION");
      assert.deepEqual(await within(pool.query(statement`select 1`)), [{
        command: "SELECT 0",
        rows: [],
      }]);
      assert.equal(server.accepted, 2);
    });
  } finally {
    await server.close();
  }
});

Deno.test("a FATAL error sent mid-query becomes the cause of the query's CONNECTION_LOST", async () => {
  const server = scriptedServer(async (peer) => {
    await peer.startup();
    await peer.send(AUTH_OK, READY);
    await peer.next();
    await peer.send(
      errorMessage("57P01", "terminating connection due to administrator command", "FATAL"),
    );
  });
  try {
    await withPool(server.url(), {}, async (pool) => {
      const error = await rejection(pool.query(statement`select 1`));
      assertConnectionError(error, "CONNECTION_LOST");
      assertPgError(error.cause, "57P01");
    });
  } finally {
    await server.close();
  }
});

// ---- values -------------------------------------------------------------------------------------

dbTest("booleans and small numbers read back as JavaScript booleans and numbers", async (db) => {
  await withPool(db.url, {}, async (pool) => {
    const values = await row(
      pool,
      statement`select true as yes, false as no, 32767::int2 as small, (-2147483648)::int4 as int,
        1.5::float8 as double, 0.25::float4 as single, 'NaN'::float8 as nan,
        '-Infinity'::float8 as minus_infinity, 26::oid as oid`,
    );
    assert.deepEqual(values, {
      yes: true,
      no: false,
      small: 32767,
      int: -2147483648,
      double: 1.5,
      single: 0.25,
      nan: NaN,
      minus_infinity: -Infinity,
      oid: 26,
    });
  });
});

dbTest("int8 and numeric read back as exact strings", async (db) => {
  await withPool(db.url, {}, async (pool) => {
    const values = await row(
      pool,
      statement`select 9007199254740993::int8 as big, (-9223372036854775808)::int8 as min,
        12345678901234567890.000000000123::numeric as num, 'NaN'::numeric as num_nan`,
    );
    assert.deepEqual(values, {
      big: "9007199254740993",
      min: "-9223372036854775808",
      num: "12345678901234567890.000000000123",
      num_nan: "NaN",
    });
  });
});

dbTest("json and jsonb read back parsed", async (db) => {
  await withPool(db.url, {}, async (pool) => {
    const values = await row(
      pool,
      statement`select '{"a": [1, 2.5, {"b": null}], "s": "é \\"q\\" 😀"}'::jsonb as object,
        '[1, "two", true]'::json as list, '"text"'::json as string, 'null'::jsonb as json_null,
        null::jsonb as sql_null`,
    );
    assert.deepEqual(values, {
      object: { a: [1, 2.5, { b: null }], s: 'é "q" 😀' },
      list: [1, "two", true],
      string: "text",
      json_null: null,
      sql_null: null,
    });
  });
});

dbTest("timestamptz and timestamp read back as Dates to the millisecond", async (db) => {
  await withPool(db.url, {}, async (pool) => {
    const values = await row(
      pool,
      statement`select '2026-11-24 21:42:50.123+00'::timestamptz as tz,
        '2026-11-24 21:42:50.123456+00'::timestamptz as micro,
        '2026-11-24 21:42:50'::timestamp as plain, '1969-07-20 20:17:40.5'::timestamp as before,
        '0099-01-01 00:00:00+00'::timestamptz as ancient`,
    );
    assert.deepEqual(values, {
      tz: new Date(Date.UTC(2026, 10, 24, 21, 42, 50, 123)),
      micro: new Date(Date.UTC(2026, 10, 24, 21, 42, 50, 123)),
      plain: new Date(Date.UTC(2026, 10, 24, 21, 42, 50)),
      before: new Date(Date.UTC(1969, 6, 20, 20, 17, 40, 500)),
      ancient: new Date("0099-01-01T00:00:00Z"),
    });
  });
});

dbTest("a timestamptz reads back the same instant whatever the session's time zone", async (db) => {
  const instant = new Date(Date.UTC(2024, 2, 1, 12, 34, 56, 789));
  await withPool(db.url, { max: 1 }, async (pool) => {
    for (const zone of ["Asia/Kolkata", "America/St_Johns", "Pacific/Chatham", "UTC"]) {
      const value = await pool.transaction(async (tx) => {
        await tx.query(testSql(`set local timezone = '${zone}'`));
        const results = await tx.commit(
          statement`select '2024-03-01 12:34:56.789+00'::timestamptz as at`,
        );
        return rowsOf(results)[0]?.at;
      });
      assert.deepEqual(value, instant, zone);
    }
  });
});

// PGlite's time zone data has no local mean time, so only the server shows such an offset.
dbTest("a timestamptz whose zone offset has seconds reads back the exact instant", async (db) => {
  await withPool(db.url, { max: 1 }, async (pool) => {
    const values = await pool.transaction(async (tx) => {
      await tx.query(statement`set local timezone = 'Europe/Amsterdam'`);
      const results = await tx.commit(
        statement`select '1900-01-01 00:00:00+00'::timestamptz as at,
          '1900-01-01 00:00:00+00'::timestamptz::text as text`,
      );
      return rowsOf(results)[0];
    });
    assert.equal(values?.text, "1900-01-01 00:19:32+00:19:32");
    assert.deepEqual(values?.at, new Date(Date.UTC(1900, 0, 1)));
  });
}, { ignore: !ON_SERVER });

dbTest("infinite timestamps read back as the strings infinity and -infinity", async (db) => {
  await withPool(db.url, {}, async (pool) => {
    const values = await row(
      pool,
      statement`select 'infinity'::timestamptz as a, '-infinity'::timestamptz as b,
        'infinity'::timestamp as c, '-infinity'::timestamp as d`,
    );
    assert.deepEqual(values, { a: "infinity", b: "-infinity", c: "infinity", d: "-infinity" });
  });
});

dbTest(
  "text reads back unchanged: quotes, backslashes, unicode, emoji, empty strings and null",
  async (db) => {
    const text = `it's "quoted" \\ back\\slash \\x41 tab\tnew\nline ünïcødé 中文 😀👩‍👩‍👧 $1 %s`;
    const table = await newTable(db, "id int primary key, body text");
    await db.sql`insert into ${db.sql(table)} (id, body) values (1, ${text}), (2, ''), (3, null)`;
    await withPool(db.url, {}, async (pool) => {
      const results = await pool.query(
        testSql(`select body, body is null as missing from ${table} order by id;
      select $q$${text}$q$ as literal, '' as empty, null as nothing, null::int as no_int`),
      );
      assert.deepEqual(rowsOf(results, 0), [
        { body: text, missing: false },
        { body: "", missing: false },
        { body: null, missing: true },
      ]);
      assert.deepEqual(rowsOf(results, 1), [
        { literal: text, empty: "", nothing: null, no_int: null },
      ]);
    });
  },
);

dbTest("other types read back as their text form, under their column names", async (db) => {
  await withPool(db.url, {}, async (pool) => {
    const values = await row(
      pool,
      statement`select '2026-01-02'::date as "day ü", '{a,"b c"}'::text[] as list,
        '\\x0a0b'::bytea as bytes, '00000000-0000-0000-0000-000000000001'::uuid as id`,
    );
    assert.deepEqual(values, {
      "day ü": "2026-01-02",
      list: '{a,"b c"}',
      bytes: "\\x0a0b",
      id: "00000000-0000-0000-0000-000000000001",
    });
  });
});

dbTest("a value of a megabyte and twenty thousand rows read back whole", async (db) => {
  await withPool(db.url, {}, async (pool) => {
    const big = await row(pool, statement`select repeat('x', 1000000) || 'end' as big`);
    assert.equal(big.big, `${"x".repeat(1_000_000)}end`);
    const many = rowsOf(
      await pool.query(
        statement`select g as n, repeat('y', 50) as pad from generate_series(1, 20000) g`,
      ),
    );
    assert.equal(many.length, 20_000);
    assert.deepEqual(many[19_999], { n: 20_000, pad: "y".repeat(50) });
    assert.equal(many.reduce((sum, r) => sum + Number(r.n), 0), (20_000 * 20_001) / 2);
  });
});

dbTest(
  "timestamps in a DateStyle other than ISO stay text rather than become a wrong date",
  async (db) => {
    await withPool(db.url, { max: 1 }, async (pool) => {
      for (const style of ["SQL, DMY", "Postgres, MDY", "German"]) {
        const [, result] = await pool.query(
          testSql(
            `set datestyle = '${style}'; select '2026-11-24 21:42:50.123+00'::timestamptz as at, ` +
              `'2026-11-24 21:42:50'::timestamp as local`,
          ),
        );
        const row = result?.rows[0];
        assert.equal(typeof row?.at, "string", `${style}: ${Deno.inspect(row)}`);
        assert.equal(typeof row?.local, "string", `${style}: ${Deno.inspect(row)}`);
      }
      await pool.query(statement`reset datestyle`);
    });
  },
);

// ---- statements and results ---------------------------------------------------------------------

dbTest(
  "several statements in one text give one result each, with their command tags",
  async (db) => {
    const table = uniqueName("t");
    await withPool(db.url, {}, async (pool) => {
      const results = await pool.query(
        testSql(`create table ${table} (n int);
      insert into ${table} values (1), (2);
      update ${table} set n = n + 10 where n = 1;
      select n from ${table} order by n;
      delete from ${table};
      drop table ${table}`),
      );
      assert.deepEqual(results, [
        { command: "CREATE TABLE", rows: [] },
        { command: "INSERT 0 2", rows: [] },
        { command: "UPDATE 1", rows: [] },
        { command: "SELECT 2", rows: [{ n: 2 }, { n: 11 }] },
        { command: "DELETE 2", rows: [] },
        { command: "DROP TABLE", rows: [] },
      ]);
    });
  },
);

dbTest("an empty query gives one empty result", async (db) => {
  await withPool(db.url, {}, async (pool) => {
    for (const text of ["", "   ", "-- only a comment", ";"]) {
      assert.deepEqual(
        await pool.query(testSql(text)),
        [{ command: "", rows: [] }],
        JSON.stringify(text),
      );
    }
  });
});

dbTest("a notice from the server does not disturb the results", async (db) => {
  await withPool(db.url, {}, async (pool) => {
    const results = await pool.query(
      statement`do $$ begin raise notice 'just so you know'; end $$; select 1 as one`,
    );
    assert.deepEqual(results, [
      { command: "DO", rows: [] },
      { command: "SELECT 1", rows: [{ one: 1 }] },
    ]);
  });
});

dbTest("SQL text with a NUL byte is refused whole, not cut short at the NUL", async (db) => {
  const table = await newTable(db);
  await withPool(db.url, {}, async (pool) => {
    const error = await rejection(
      pool.query(testSql(`insert into ${table} values (1)\0; insert into ${table} values (2)`)),
    );
    assertPgError(error, "08P01");
    assert.deepEqual(await numbersIn(db, table), []);
  });
});
