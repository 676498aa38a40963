import assert from "node:assert/strict";
import { createLogger, describeError, redact } from "../supabase/functions/_shared/log.ts";

Deno.test("redact masks keys, webhook secrets, API keys, tokens and connection passwords", () => {
  const text = [
    "key sk_test_51Habc123 and rk_live_xyz",
    "secret whsec_abc+/=",
    "api sb_secret_AbC-123 sb_publishable_x",
    "token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln",
    "db postgresql://postgres:hunter2@db.example.com:5432/postgres",
  ].join(" ");
  const masked = redact(text);
  for (
    const secret of [
      "sk_test_51Habc123",
      "rk_live_xyz",
      "whsec_abc",
      "sb_secret_AbC",
      "eyJhbGci",
      "hunter2",
    ]
  ) {
    assert.ok(!masked.includes(secret), `${secret} leaked: ${masked}`);
  }
  assert.match(masked, /postgresql:\/\/postgres:\[redacted\]@db\.example\.com/);
});

Deno.test("describeError keeps the error's kind, code and cause, redacted", () => {
  const error = Object.assign(
    new Error("Invalid API Key provided: sk_test_abc", { cause: new Error("boom") }),
    {
      code: "api_key_invalid",
    },
  );
  const fields = describeError(error);
  assert.equal(fields.error, "Error: Invalid API Key provided: [redacted]");
  assert.equal(fields.errorCode, "api_key_invalid");
  assert.equal(fields.cause, "boom");
});

Deno.test("the logger writes one JSON object per line", () => {
  const lines: string[] = [];
  createLogger((line) => lines.push(line)).info("request", { status: 200 });
  assert.equal(lines.length, 1);
  const entry = JSON.parse(lines[0] ?? "");
  assert.equal(entry.level, "info");
  assert.equal(entry.message, "request");
  assert.equal(entry.status, 200);
});
