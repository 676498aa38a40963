import assert from "node:assert/strict";
import { literal, statement } from "../supabase/functions/_shared/db.ts";
import { harnessTest } from "./_support/harness.ts";

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

Deno.test("literal writes SQL values", () => {
  assert.equal(literal(null), "null");
  assert.equal(literal(true), "true");
  assert.equal(literal(false), "false");
  assert.equal(literal(42), "42");
  assert.equal(literal("it's"), "E'it''s'");
  assert.equal(literal("a\\b"), "E'a\\\\b'");
  assert.equal(literal(new Date(0)), "'1970-01-01T00:00:00.000Z'::timestamptz");
  assert.equal(literal(["a", "b'"]), "array[E'a', E'b''']::text[]");
});

Deno.test("literal refuses what SQL text cannot hold", () => {
  assert.throws(() => literal("a\0b"), TypeError);
  assert.throws(() => literal(Number.NaN), TypeError);
  assert.throws(() => literal(Number.POSITIVE_INFINITY), TypeError);
  assert.throws(() => literal(new Date(Number.NaN)), TypeError);
});

Deno.test("statement writes every interpolation as a literal", () => {
  const id = "x' or '1'='1";
  assert.equal(
    statement`select * from t where id = ${id} and n = ${1} and d is ${null}`,
    "select * from t where id = E'x'' or ''1''=''1' and n = 1 and d is null",
  );
});

harnessTest(
  "every string reads back unchanged through the functions' client, whatever standard_conforming_strings is",
  async (h) => {
    for (const conforming of ["on", "off"]) {
      await h.database.transaction(async (tx) => {
        await tx.query(`set local standard_conforming_strings = ${conforming}`);
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
  },
);

harnessTest(
  "a text array reads back unchanged through postgres.js, whatever standard_conforming_strings is",
  async (h) => {
    const connection = await h.sql.reserve();
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

harnessTest("dates and booleans read back as the same values", async (h) => {
  const when = new Date("2026-11-24T12:34:56.789Z");
  const [result] = await h.database.query(
    statement`select ${when} as when, ${true} as yes, ${false} as no, ${null}::text as nothing`,
  );
  assert.deepEqual(result?.rows, [{ when, yes: true, no: false, nothing: null }]);
});
