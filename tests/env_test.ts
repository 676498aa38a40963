import assert from "node:assert/strict";
import { parseDotenv } from "../dev/env.ts";

Deno.test("parseDotenv reads keys, quotes, export and comments", () => {
  const values = parseDotenv([
    "# comment",
    "STRIPE_SECRET_KEY=sk_test_1",
    'URL="http://localhost:3000"',
    "export PORT=54321 # trailing comment",
    "SINGLE='a # not a comment'",
    "EMPTY=",
    "not a line",
  ].join("\n"));
  assert.deepEqual(Object.fromEntries(values), {
    STRIPE_SECRET_KEY: "sk_test_1",
    URL: "http://localhost:3000",
    PORT: "54321",
    SINGLE: "a # not a comment",
    EMPTY: "",
  });
});
