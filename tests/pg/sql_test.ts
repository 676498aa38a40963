/**
 * `literal` and `statement`: every value written so that it reads back unchanged and cannot change
 * the shape of the statement around it, proven with generated values on the real database
 * (HISTORY_SEED replays a run).
 */
import assert from "node:assert/strict";
import { mulberry32, randomInt, type Rng, seedFrom } from "../_support/random.ts";
import {
  literal,
  type Pool,
  type SqlText,
  statement,
  type Transaction,
} from "../../supabase/functions/_shared/pg/mod.ts";
import { dbTest, rowsOf, testSql, withPool } from "./support.ts";

const NASTY = [
  "",
  "plain",
  "it's",
  "''",
  "\\",
  "\\'",
  "\\\\'; drop table public.profiles; --",
  "E'\\x41'",
  "$$ dollar $$",
  "line\nbreak\ttab\r",
  "unicode ✓ 日本語 🚀",
  "null",
  "-- comment",
  "/* open comment",
  "\u2028\u2029",
];

Deno.test("literal writes SQL values, parenthesising numbers, dates and arrays", () => {
  assert.equal(literal(null), "null");
  assert.equal(literal(true), "true");
  assert.equal(literal(false), "false");
  assert.equal(literal(42), "(42)");
  assert.equal(literal(-1), "(-1)");
  assert.equal(literal(-0), "(0)");
  assert.equal(literal(1.5e-7), "(1.5e-7)");
  assert.equal(literal(-1e21), "(-1e+21)");
  assert.equal(literal("it's"), "E'it''s'");
  assert.equal(literal("a\\b"), "E'a\\\\b'");
  assert.equal(literal(new Date(0)), "('1970-01-01T00:00:00.000Z'::timestamptz)");
  assert.equal(literal(["a", "b'"]), "(array[E'a', E'b''']::text[])");
  assert.equal(literal([]), "(array[]::text[])");
});

Deno.test("literal refuses what SQL text cannot hold", () => {
  assert.throws(() => literal("a\0b"), TypeError);
  assert.throws(() => literal(Number.NaN), TypeError);
  assert.throws(() => literal(Number.POSITIVE_INFINITY), TypeError);
  assert.throws(() => literal(Number.NEGATIVE_INFINITY), TypeError);
  assert.throws(() => literal(new Date(Number.NaN)), TypeError);
  assert.throws(() => literal(["a", "\0"]), TypeError);
});

Deno.test("statement writes every interpolation as a literal", () => {
  const id = "x' or '1'='1";
  assert.equal(
    statement`select * from t where id = ${id} and n = ${1} and d is ${null}`,
    "select * from t where id = E'x'' or ''1''=''1' and n = (1) and d is null",
  );
  assert.equal(statement`select 1 -${-1}`, "select 1 -(-1)");
  assert.equal(statement`commit`, "commit");
});

Deno.test("the pool and transactions take only text made by statement", () => {
  // Checked when this file is type-checked: each line below must be a type error.
  const refuse = (pool: Pool, tx: Transaction, text: string) => [
    // @ts-expect-error: a plain string is not SqlText.
    pool.query(text),
    // @ts-expect-error: a plain string is not SqlText.
    tx.query("select 1"),
    // @ts-expect-error: a plain string is not SqlText.
    tx.commit(`select ${text}`),
    // @ts-expect-error: concatenating loses the brand.
    pool.query(statement`select 1` + text),
  ];
  assert.equal(typeof refuse, "function");
  assert.equal(typeof statement`select ${1}`, "string");
});

dbTest(
  "a negative number after a minus sign is subtracted, not turned into a comment",
  async (db) => {
    await withPool(db.url, {}, async (pool) => {
      assert.deepEqual(rowsOf(await pool.query(statement`select 1 -${-1} as d, 2 as two`)), [
        { d: 2, two: 2 },
      ]);
    });
  },
);

dbTest(
  "every string reads back unchanged through the functions' client, whatever standard_conforming_strings is",
  async (db) => {
    await withPool(db.url, { max: 1 }, async (pool) => {
      for (const conforming of ["on", "off"]) {
        await pool.transaction(async (tx) => {
          await tx.query(testSql(`set local standard_conforming_strings = ${conforming}`));
          for (const value of NASTY) {
            const [result] = await tx.query(statement`select ${value} as value`);
            assert.equal(
              result?.rows[0]?.value,
              value,
              `standard_conforming_strings=${conforming}: ${JSON.stringify(value)}`,
            );
          }
        });
      }
    });
  },
);

dbTest(
  "a text array reads back unchanged through postgres.js, whatever standard_conforming_strings is",
  async (db) => {
    const connection = await db.sql.reserve();
    try {
      for (const conforming of ["on", "off"]) {
        await connection.unsafe(`begin; set local standard_conforming_strings = ${conforming}`);
        const [row] = await connection.unsafe<{ value: string[] }[]>(
          statement`select ${NASTY} as value`,
        );
        assert.deepEqual(row?.value, NASTY);
        await connection.unsafe("rollback");
      }
    } finally {
      connection.release();
    }
  },
);

dbTest("dates and booleans read back as the same values", async (db) => {
  const when = new Date("2026-11-24T12:34:56.789Z");
  await withPool(db.url, {}, async (pool) => {
    const [result] = await pool.query(
      statement`select ${when} as when, ${true} as yes, ${false} as no, ${null}::text as nothing`,
    );
    assert.deepEqual(result?.rows, [{ when, yes: true, no: false, nothing: null }]);
  });
});

// ---- values that cannot change a statement's shape ----------------------------------------------

/** Pieces that SQL's lexer treats specially, to build strings from. */
const STRING_PIECES = [
  "'",
  "''",
  "\\",
  "\\'",
  "--",
  "/*",
  "*/",
  "$$",
  "$x$",
  "E'",
  "e'",
  "U&'",
  "X'",
  ";",
  '"',
  " ",
  "\n",
  "\t",
  "\r",
  "-",
  "1",
  "a",
  "é",
  "✓",
  "日本",
  "🚀",
  "\u2028",
  "\u00a0",
  "\\x41",
  "select",
  " or 1=1",
  ")",
  "(",
  "::",
  "%",
  "?",
  "$1",
];

/** A random string of awkward pieces and code points (no NUL, no lone surrogates). */
function randomString(rng: Rng): string {
  let text = "";
  for (let i = randomInt(rng, 0, 8); i > 0; i--) {
    if (rng() < 0.75) text += STRING_PIECES[randomInt(rng, 0, STRING_PIECES.length - 1)];
    else {
      const codePoint = randomInt(rng, 1, 0x10ffff);
      if (codePoint < 0xd800 || codePoint > 0xdfff) text += String.fromCodePoint(codePoint);
    }
  }
  return text;
}

/** A random finite number: small and huge integers, edges, -0, tiny and huge doubles, exponents. */
function randomNumber(rng: Rng): number {
  const sign = rng() < 0.5 ? -1 : 1;
  switch (randomInt(rng, 0, 6)) {
    case 0:
      return randomInt(rng, -1000, 1000);
    case 1:
      return [
        0,
        -0,
        1,
        -1,
        2 ** 31 - 1,
        -(2 ** 31),
        2 ** 31,
        Number.MAX_SAFE_INTEGER,
        Number.MIN_SAFE_INTEGER,
        Number.MAX_VALUE,
        -Number.MAX_VALUE,
        Number.MIN_VALUE,
        -Number.MIN_VALUE,
        Number.EPSILON,
        1e21,
        -1e-7,
      ][randomInt(rng, 0, 15)] ?? 0;
    case 2:
      return sign * Math.floor(rng() * Number.MAX_SAFE_INTEGER);
    case 3:
      return sign * rng() * 10 ** randomInt(rng, -30, 30);
    case 4:
      return sign * (1 + rng()) * 10 ** randomInt(rng, -323, 307);
    case 5: {
      const bytes = new Uint8Array(8);
      for (let i = 0; i < 8; i++) bytes[i] = randomInt(rng, 0, 255);
      const value = new DataView(bytes.buffer).getFloat64(0);
      return Number.isFinite(value) ? value : sign;
    }
    default:
      return sign * randomInt(rng, 0, 99) / 100;
  }
}

/** What a statement must answer: its column names, row count and the values to check. */
interface Expected {
  columns: string[];
  rows: number;
  check?: (rows: Record<string, unknown>[]) => void;
}

/** Number read back: int2/int4 come as numbers, int8 and numeric as exact text. */
function asNumber(value: unknown): number {
  return typeof value === "number" ? value : Number(value);
}

/** The statements one value is interpolated into, with what each must answer. */
function shapesFor(value: number | string | string[]): [SqlText, Expected][] {
  if (typeof value === "number") {
    return [
      [statement`select ${value} as v`, {
        columns: ["v"],
        rows: 1,
        check: ([row]) => assert.ok(asNumber(row?.v) === value, `read back ${row?.v}`),
      }],
      [statement`select 1.0 -${value} + ${value} as one, ${value} as v`, {
        columns: ["one", "v"],
        rows: 1,
        check: ([row]) => assert.equal(asNumber(row?.one), 1),
      }],
      [statement`select -${value} as negated`, {
        columns: ["negated"],
        rows: 1,
        check: ([row]) => assert.ok(asNumber(row?.negated) === -value, `negated ${row?.negated}`),
      }],
      [statement`select g from generate_series(1, 3) g where g > 1 and ${value} is not null`, {
        columns: ["g"],
        rows: 2,
      }],
    ];
  }
  if (typeof value === "string") {
    return [
      [statement`select ${value} as v`, {
        columns: ["v"],
        rows: 1,
        check: ([row]) => assert.equal(row?.v, value),
      }],
      [statement`select ${value} || ${value} as twice, length(${value}) as n`, {
        columns: ["twice", "n"],
        rows: 1,
        check: ([row]) => {
          assert.equal(row?.twice, value + value);
          assert.equal(row?.n, [...value].length);
        },
      }],
      [statement`select g from generate_series(1, 3) g where g > 1 and ${value} = ${value}`, {
        columns: ["g"],
        rows: 2,
      }],
      [statement`select e from unnest(${[value, "x"]}) e`, {
        columns: ["e"],
        rows: 2,
        check: (rows) => assert.deepEqual(rows.map((row) => row.e), [value, "x"]),
      }],
    ];
  }
  return [
    [statement`select e, i from unnest(${value}) with ordinality u(e, i) order by i`, {
      columns: ["e", "i"],
      rows: value.length,
      check: (rows) => assert.deepEqual(rows.map((row) => row.e), value),
    }],
    [statement`select cardinality(${value}) as n, ${value} = ${value} as same`, {
      columns: ["n", "same"],
      rows: 1,
      check: ([row]) => assert.deepEqual(row, { n: value.length, same: true }),
    }],
  ];
}

dbTest(
  "no number, string or array changes the shape of the statement it is written into, and each reads back unchanged",
  async (db) => {
    const seed = seedFrom("HISTORY_SEED", 20261124);
    const rng = mulberry32(seed);
    const values: (number | string | string[])[] = [];
    for (let i = 0; i < 200; i++) values.push(randomNumber(rng));
    for (let i = 0; i < 200; i++) values.push(randomString(rng));
    for (let i = 0; i < 60; i++) {
      values.push(Array.from({ length: randomInt(rng, 0, 5) }, () => randomString(rng)));
    }
    await withPool(db.url, { max: 1 }, async (pool) => {
      for (const [index, value] of values.entries()) {
        const conforming = rng() < 0.5 ? "on" : "off";
        for (const [text, expected] of shapesFor(value)) {
          const where = `value ${index} of seed ${seed} (HISTORY_SEED=${seed} replays it): ` +
            `${Deno.inspect(value)}, standard_conforming_strings ${conforming}, in ${text}`;
          try {
            const results = await pool.query(
              testSql(`set local standard_conforming_strings = ${conforming};\n${text}`),
            );
            assert.equal(results.length, 2, "one result per statement");
            const rows = results[1]?.rows ?? [];
            assert.equal(rows.length, expected.rows, "rows");
            for (const row of rows) assert.deepEqual(Object.keys(row), expected.columns);
            expected.check?.(rows);
          } catch (error) {
            throw new Error(`${where}: ${error instanceof Error ? error.message : error}`, {
              cause: error,
            });
          }
        }
      }
    });
  },
);
