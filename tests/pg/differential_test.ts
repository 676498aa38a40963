/**
 * The functions' client against node-postgres (`pg`, the widely used driver that would replace it):
 * the same SQL text through both reads back the same values, results and errors.
 */
import assert from "node:assert/strict";
import pg from "npm:pg@8.23.1";
import { PgError, type SqlText, statement } from "../../supabase/functions/_shared/pg/mod.ts";
import {
  assertPgError,
  dbTest,
  newTable,
  numbersIn,
  rejection,
  type TestDatabase,
  testSql,
  uniqueName,
  withPool,
} from "./support.ts";

/** node-postgres, set to read timestamps without zone as UTC, as the functions' client does. */
function pgClient(url: string): pg.Client {
  return new pg.Client({
    connectionString: url,
    types: {
      getTypeParser: ((oid: number, format?: "text" | "binary") =>
        oid === 1114 && format !== "binary"
          ? (text: string) =>
            new Date(`${text.replace(" ", "T")}Z`)
          : pg.types.getTypeParser(oid, format ?? "text")) as typeof pg.types.getTypeParser,
    },
  });
}

/** A command tag as node-postgres splits it: its verb and its row count. */
function tagOf(command: string): { command: string; rowCount: number | null } {
  const match = /^([A-Za-z]+)(?: (\d+))?(?: (\d+))?/.exec(command);
  const count = match?.[3] ?? match?.[2];
  return { command: match?.[1] ?? "", rowCount: count === undefined ? null : Number(count) };
}

/** One statement's result, as both clients can show it. */
interface Comparable {
  command: string;
  rowCount: number | null;
  rows: Record<string, unknown>[];
}

/** Runs the same SQL text through both clients and returns what each read. */
async function throughBoth(
  db: TestDatabase,
  text: SqlText,
): Promise<{ ours: Comparable[]; theirs: Comparable[] }> {
  const ours = await withPool(
    db.url,
    { max: 1 },
    async (pool) =>
      (await pool.query(text)).map((result) => ({ ...tagOf(result.command), rows: result.rows })),
  );
  const client = pgClient(db.url);
  await client.connect();
  try {
    const answer: pg.QueryResult | pg.QueryResult[] = await client.query(text);
    const theirs = (Array.isArray(answer) ? answer : [answer]).map((result) => ({
      command: result.command ?? "",
      rowCount: result.command === "SELECT" || result.rowCount !== null ? result.rowCount : null,
      rows: result.rows,
    }));
    return { ours, theirs };
  } finally {
    await client.end();
  }
}

/** What each client's error says: SQLSTATE, message, detail, hint. */
async function errorThroughBoth(db: TestDatabase, text: SqlText) {
  const fields = (error: unknown) => {
    const e = error as { code?: string; message?: string; detail?: string; hint?: string };
    return { code: e.code, message: e.message, detail: e.detail, hint: e.hint };
  };
  const ours = await withPool(db.url, { max: 1 }, (pool) => rejection(pool.query(text)));
  assert.ok(ours instanceof PgError, Deno.inspect(ours));
  const client = pgClient(db.url);
  await client.connect();
  try {
    const theirs = await rejection(client.query(text));
    return { ours: fields(ours), theirs: fields(theirs) };
  } finally {
    await client.end();
  }
}

dbTest(
  "node-postgres and the functions' client read the same text, numbers, booleans and nulls",
  async (db) => {
    const text = `it's "q" \\ ünï 中文 😀 $$ -- /*`;
    const { ours, theirs } = await throughBoth(
      db,
      statement`select ${text} as text, '' as empty, null::text as nothing, ${true} as yes,
      ${false} as no, ${42} as int, ${-7}::int2 as small, 2147483648 as big, 1.5::numeric as num,
      ${0.1}::float8 as double, 'NaN'::float8 as nan, '-Infinity'::float8 as minus_infinity,
      26::oid as oid, '00000000-0000-0000-0000-000000000001'::uuid as id`,
    );
    assert.deepEqual(ours, theirs);
    assert.equal(ours[0]?.rows[0]?.text, text);
  },
);

dbTest(
  "node-postgres and the functions' client read the same timestamps, with and without zone",
  async (db) => {
    const when = new Date("2026-11-24T21:42:50.123Z");
    const { ours, theirs } = await throughBoth(
      db,
      statement`select ${when} as at, '2026-11-24 21:42:50.123456+02'::timestamptz as micro,
      '2026-11-24 21:42:50'::timestamp as plain, '1969-07-20 20:17:40.5'::timestamp as before`,
    );
    assert.deepEqual(ours, theirs);
    assert.deepEqual(ours[0]?.rows[0]?.at, when);
  },
);

dbTest("node-postgres and the functions' client read the same json and jsonb", async (db) => {
  const { ours, theirs } = await throughBoth(
    db,
    statement`select ${'{"a": [1, 2.5, {"b": null}], "s": "é \\"q\\" 😀"}'}::jsonb as object,
      '[1, "two", true]'::json as list, '"text"'::json as string, 'null'::jsonb as json_null,
      null::jsonb as sql_null`,
  );
  assert.deepEqual(ours, theirs);
});

dbTest(
  "node-postgres and the functions' client read arrays the same, as text and as JSON",
  async (db) => {
    const list = ["a", "b'c", "", "with space", 'quote"d', "back\\slash", "ü😀"];
    const { ours, theirs } = await throughBoth(
      db,
      statement`select ${list}::text as text, to_jsonb(${list}) as json,
      array[1, 2, null]::int[]::text as ints, array_length(${list}, 1) as n`,
    );
    assert.deepEqual(ours, theirs);
    assert.deepEqual(ours[0]?.rows[0]?.json, list);
  },
);

dbTest(
  "node-postgres and the functions' client agree on empty results and several statements in one text",
  async (db) => {
    const table = uniqueName("t");
    const { ours, theirs } = await throughBoth(
      db,
      testSql(`create table ${table} (n int primary key, note text);
      insert into ${table} values (1, 'a'), (2, 'b');
      update ${table} set note = 'c' where n = 2;
      select * from ${table} where false;
      select n, note from ${table} order by n;
      delete from ${table};
      drop table ${table}`),
    );
    assert.deepEqual(ours, theirs);
    assert.deepEqual(ours.map((result) => result.command), [
      "CREATE",
      "INSERT",
      "UPDATE",
      "SELECT",
      "SELECT",
      "DELETE",
      "DROP",
    ]);
  },
);

dbTest(
  "node-postgres and the functions' client report the same SQLSTATE, message, detail and hint",
  async (db) => {
    const table = await newTable(db);
    await db.sql.unsafe(`insert into ${table} values (1)`);
    for (
      const text of [
        statement`select 1/0`,
        testSql(`insert into ${table} values (1)`),
        testSql(`select * from ${uniqueName("missing")}`),
        statement`select ${"abc"}::int`,
        statement`select nosuchfunction(1)`,
        statement`do $$ begin raise exception 'custom' using detail = 'the detail', hint = 'the hint', errcode = 'P0001'; end $$`,
      ]
    ) {
      const { ours, theirs } = await errorThroughBoth(db, text);
      assert.deepEqual(ours, theirs, text);
      assert.ok(ours.code, text);
    }
  },
);

dbTest(
  "node-postgres and the functions' client both roll back a transaction an error ended",
  async (db) => {
    const ourTable = await newTable(db);
    const theirTable = await newTable(db);
    const ours = await withPool(
      db.url,
      { max: 1 },
      (pool) =>
        rejection(pool.transaction(async (tx) => {
          await tx.query(testSql(`insert into ${ourTable} values (1)`));
          await tx.commit(
            testSql(`insert into ${ourTable} values (2); insert into ${ourTable} values (1)`),
          );
        })),
    );
    const client = pgClient(db.url);
    await client.connect();
    let theirs: unknown;
    try {
      await client.query("begin");
      await client.query(`insert into ${theirTable} values (1)`);
      theirs = await rejection(
        client.query(`insert into ${theirTable} values (2); insert into ${theirTable} values (1)`),
      );
      await client.query("rollback");
    } finally {
      await client.end();
    }
    assertPgError(ours, "23505");
    assert.equal((theirs as { code?: string }).code, ours.code);
    assert.equal(
      (theirs as { detail?: string }).detail?.replace(theirTable, ourTable),
      ours.detail,
    );
    assert.deepEqual(await numbersIn(db, ourTable), []);
    assert.deepEqual(await numbersIn(db, theirTable), []);
  },
);
