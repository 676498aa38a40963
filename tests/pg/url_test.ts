/** `parseDatabaseUrl`: which URL parameters the client takes, sends, or refuses, and why. */
import assert from "node:assert/strict";
import { ConfigError, loadConfig } from "../../supabase/functions/_shared/config.ts";
import { parseDatabaseUrl } from "../../supabase/functions/_shared/pg/mod.ts";
import { assertNoSecret } from "./support.ts";

Deno.test("parseDatabaseUrl reads every part of a full URL and percent-decodes them", () => {
  const settings = parseDatabaseUrl(
    "postgresql://app%20user:p%40ss%3Aw%2Frd%25@db.example.com:6543/my%20db" +
      "?sslmode=verify-full&sslrootcert=%2Fetc%2Fca.pem&application_name=billing" +
      "&options=-c%20search_path%3Dbilling",
  );
  assert.deepEqual(settings, {
    hostname: "db.example.com",
    port: 6543,
    user: "app user",
    password: "p@ss:w/rd%",
    database: "my db",
    sslmode: "verify-full",
    sslrootcert: "/etc/ca.pem",
    connectTimeoutMs: undefined,
    parameters: { application_name: "billing", options: "-c search_path=billing" },
  });
});

Deno.test("parseDatabaseUrl defaults the port to 5432, the database to the user and sslmode to prefer", () => {
  for (const url of ["postgres://alice@localhost", "postgres://alice@localhost/"]) {
    assert.deepEqual(parseDatabaseUrl(url), {
      hostname: "localhost",
      port: 5432,
      user: "alice",
      password: undefined,
      database: "alice",
      sslmode: "prefer",
      sslrootcert: undefined,
      connectTimeoutMs: undefined,
      parameters: {},
    });
  }
});

Deno.test("parseDatabaseUrl takes an IPv6 host without its brackets", () => {
  const settings = parseDatabaseUrl("postgres://u@[::1]:5433/d");
  assert.equal(settings.hostname, "::1");
  assert.equal(settings.port, 5433);
  assert.equal(parseDatabaseUrl("postgres://u@[2001:db8::7]/d").hostname, "2001:db8::7");
});

Deno.test("parseDatabaseUrl accepts libpq's sslmodes and rejects any other with a TypeError", () => {
  for (const mode of ["disable", "allow", "prefer", "require", "verify-ca", "verify-full"]) {
    assert.equal(parseDatabaseUrl(`postgres://u@h/d?sslmode=${mode}`).sslmode, mode);
  }
  for (const mode of ["required", "REQUIRE", "", "on"]) {
    assert.throws(
      () => parseDatabaseUrl(`postgres://u@h/d?sslmode=${mode}`),
      (error) => error instanceof TypeError && error.message === `Invalid sslmode "${mode}"`,
    );
  }
});

Deno.test("parseDatabaseUrl sends application_name and the listed settings at startup, and keeps its own options", () => {
  const settings = parseDatabaseUrl(
    "postgres://u@h/d?application_name=a%26b&statement_timeout=5s&sslmode=disable&sslrootcert=x" +
      "&lock_timeout=1s&idle_in_transaction_session_timeout=9s&search_path=billing,public" +
      "&TimeZone=UTC&connect_timeout=7&client_encoding=UTF8&options=-c%20work_mem%3D4MB",
  );
  assert.deepEqual(settings.parameters, {
    application_name: "a&b",
    statement_timeout: "5s",
    lock_timeout: "1s",
    idle_in_transaction_session_timeout: "9s",
    search_path: "billing,public",
    TimeZone: "UTC",
    options: "-c work_mem=4MB",
  });
  assert.equal(settings.connectTimeoutMs, 7_000);
  assert.equal(settings.sslmode, "disable");
  assert.equal(settings.sslrootcert, "x");
});

Deno.test("parseDatabaseUrl rejects other schemes, a missing host and a missing user with a TypeError", () => {
  const cases: [string, RegExp][] = [
    ["mysql://u:pw@h/d", /^Invalid database URL scheme "mysql:"$/],
    ["http://u:pw@h/d", /^Invalid database URL scheme "http:"$/],
    ["postgres://h/d", /no user/],
    ["postgres:///d", /no host/],
    ["postgres://u@/d", /^Invalid database URL/],
    ["not a url", /^Invalid database URL$/],
  ];
  for (const [url, message] of cases) {
    assert.throws(
      () => parseDatabaseUrl(url),
      (error) => error instanceof TypeError && message.test(error.message),
      url,
    );
  }
});

Deno.test("parseDatabaseUrl's errors never show the password", () => {
  const secret = "Sup3rS3cretPw";
  const urls = [
    `mysql://u:${secret}@h/d`,
    `postgres://u:${secret}@h/d?sslmode=nope`,
    `postgres://:${secret}@h/d`,
    `postgres://u:${secret}@h:99999/d`,
    `postgres://u:${secret}@h:port/d`,
    `postgres://u:${secret}%zz@h/d`,
    `postgres://u:${secret}@/d`,
    `postgres://u:${secret}@[::1/d`,
  ];
  for (const url of urls) {
    let thrown: unknown;
    assert.throws(() => {
      try {
        parseDatabaseUrl(url);
      } catch (error) {
        thrown = error;
        throw error;
      }
    }, url);
    assertNoSecret(thrown, secret);
  }
});

Deno.test("parseDatabaseUrl refuses a parameter that is neither the client's nor a listed setting, naming it and not its value", () => {
  const secret = "Sup3rS3cretValue";
  for (const key of ["x_custom", "work_mem", "pgbouncer", "supa"]) {
    assert.throws(
      () => parseDatabaseUrl(`postgres://u@h/d?${key}=${secret}`),
      (error) =>
        error instanceof TypeError &&
        error.message.startsWith(`Unsupported database URL parameter "${key}": `) &&
        error.message.includes("statement_timeout") && !error.message.includes(secret),
      key,
    );
  }
});

Deno.test("parseDatabaseUrl says why libpq's options that make no sense here are refused", () => {
  const cases: [string, RegExp][] = [
    ["target_session_attrs=read-write", /"target_session_attrs": the client connects to one host/],
    ["sslcert=/c.pem", /"sslcert": the client does not present a certificate/],
    ["sslkey=/k.pem", /"sslkey": the client does not present a certificate/],
    ["gssencmode=disable", /"gssencmode": GSSAPI is not supported/],
    ["channel_binding=require", /"channel_binding": channel binding is not supported/],
    ["password=hunter2", /"password": put the password in the URL/],
    ["constructor=x", /^Unsupported database URL parameter "constructor": the client takes/],
  ];
  for (const [query, message] of cases) {
    assert.throws(
      () => parseDatabaseUrl(`postgres://u@h/d?${query}`),
      (error) => error instanceof TypeError && message.test(error.message),
      query,
    );
  }
  // libpq's default, which SCRAM without channel binding satisfies.
  assert.deepEqual(parseDatabaseUrl("postgres://u@h/d?channel_binding=prefer").parameters, {});
});

Deno.test("parseDatabaseUrl reads connect_timeout in whole seconds as libpq does", () => {
  const timeout = (value: string) =>
    parseDatabaseUrl(`postgres://u@h/d?connect_timeout=${value}`).connectTimeoutMs;
  assert.equal(timeout("10"), 10_000);
  assert.equal(timeout("1"), 2_000); // libpq's least
  assert.equal(timeout("0"), 0); // no limit
  assert.equal(timeout("-3"), 0);
  for (const value of ["", "1.5", "ten", "5s"]) {
    assert.throws(
      () => timeout(value),
      (error) => error instanceof TypeError && /^Invalid connect_timeout/.test(error.message),
      value,
    );
  }
});

Deno.test("parseDatabaseUrl accepts client_encoding only when it names UTF-8", () => {
  for (const value of ["UTF8", "utf8", "UTF-8", "unicode"]) {
    assert.deepEqual(parseDatabaseUrl(`postgres://u@h/d?client_encoding=${value}`).parameters, {});
  }
  for (const value of ["LATIN1", "SQL_ASCII", ""]) {
    assert.throws(
      () => parseDatabaseUrl(`postgres://u@h/d?client_encoding=${value}`),
      (error) => error instanceof TypeError && /client_encoding.*UTF8 only/.test(error.message),
      value,
    );
  }
});

Deno.test("parseDatabaseUrl takes fallback_application_name when application_name is absent", () => {
  const url = "postgres://u@h/d?fallback_application_name=fallback";
  assert.deepEqual(parseDatabaseUrl(url).parameters, { application_name: "fallback" });
  assert.deepEqual(parseDatabaseUrl(`${url}&application_name=app`).parameters, {
    application_name: "app",
  });
});

Deno.test("parseDatabaseUrl makes sslrootcert=system mean verify-full unless sslmode says otherwise", () => {
  assert.equal(parseDatabaseUrl("postgres://u@h/d?sslrootcert=system").sslmode, "verify-full");
  assert.equal(
    parseDatabaseUrl("postgres://u@h/d?sslrootcert=system&sslmode=require").sslmode,
    "require",
  );
  assert.equal(parseDatabaseUrl("postgres://u@h/d?sslrootcert=/ca.pem").sslmode, "prefer");
});

Deno.test("the config loader reports a refused URL parameter as a malformed SUPABASE_DB_URL, without its value", () => {
  const secret = "s3cr3t-value";
  const env: Record<string, string> = {
    SUPABASE_DB_URL: `postgresql://postgres:pw@db.example.com:5432/postgres?pgbouncer=${secret}`,
  };
  assert.throws(
    () => loadConfig(["databaseUrl"], (name) => env[name]),
    (error) =>
      error instanceof ConfigError &&
      error.message.startsWith(
        `Malformed environment variable "SUPABASE_DB_URL": Unsupported database URL parameter "pgbouncer"`,
      ) && !error.message.includes(secret),
  );
});
