import assert from "node:assert/strict";
import { PGlite } from "@electric-sql/pglite";
import { connect, type Sql } from "../dev/postgres.ts";
import { applyMigrations, startDatabase, type StartedDatabase } from "../dev/database.ts";
import { listMigrations, MIGRATIONS_DIR, splitStatements } from "../dev/migrations.ts";
import { servePglite } from "../dev/pglite_server.ts";
import { asCaller, type Caller } from "./_support/roles.ts";

/** Set: a PostgreSQL server gets a fresh database per test. Unset: embedded PGlite. */
const SERVER_URL = Deno.env.get("DATABASE_URL");

/** Starts a database on the backend this run tests, and a pool on it; both closed by `fn`'s end. */
async function withDatabase(
  fn: (sql: Sql, db: StartedDatabase) => Promise<void>,
  options: { dataDir?: string; migrationsDir?: string } = {},
): Promise<void> {
  const db = await startDatabase({ serverUrl: SERVER_URL, ...options });
  const sql = connect(db.url);
  try {
    await fn(sql, db);
  } finally {
    await sql.end();
    await db.close();
  }
}

async function createUser(sql: Sql, email = `${crypto.randomUUID()}@example.com`) {
  const [user] = await sql<{ id: string; email: string }[]>`
    insert into auth.users (email, aud, role)
    values (${email}, 'authenticated', 'authenticated')
    returning id, email
  `;
  assert.ok(user);
  return user;
}

async function assertDenied(sql: Sql, caller: Caller, query: string): Promise<void> {
  await assert.rejects(
    () => asCaller(sql, caller, (tx) => tx.unsafe(query)),
    (error: { code?: string }) => {
      assert.equal(error.code, "42501", `expected permission denied for: ${query}`);
      return true;
    },
  );
}

async function withMigrationsCopy(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "migrations_" });
  try {
    for (const migration of await listMigrations(MIGRATIONS_DIR)) {
      await Deno.copyFile(migration.path, `${dir}/${migration.version}_${migration.name}.sql`);
    }
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("startDatabase applies every migration and records it like the Supabase CLI", async () => {
  await withDatabase(async (sql) => {
    const files = await listMigrations(MIGRATIONS_DIR);
    assert.ok(files.length > 0);
    const rows = await sql<{ version: string; name: string; statements: string[] }[]>`
      select version, name, statements from supabase_migrations.schema_migrations order by version
    `;
    assert.deepEqual(
      rows.map((row) => [row.version, row.name]),
      files.map((file) => [file.version, file.name]),
    );
    for (const row of rows) assert.ok(row.statements.length > 1);
    const tables = await sql<{ name: string }[]>`
      select table_name as name from information_schema.tables
      where table_schema = 'public' order by table_name
    `;
    assert.deepEqual(tables.map((table) => table.name), [
      "billing_deleted_customers",
      "billing_plans",
      "billing_sync_state",
      "billing_tasks",
      "profiles",
      "stripe_events",
    ]);
  });
});

Deno.test("applyMigrations applies nothing when every migration is recorded", async () => {
  await withDatabase(async (_sql, db) => {
    assert.deepEqual(await applyMigrations(db.url), []);
  });
});

Deno.test("applyMigrations applies a new migration file and only that one", async () => {
  await withDatabase(async (sql, db) => {
    await withMigrationsCopy(async (dir) => {
      await Deno.writeTextFile(
        `${dir}/20991231000000_add_profile_note.sql`,
        "-- A note.\nalter table public.profiles add column note text;\n",
      );
      assert.deepEqual(await applyMigrations(db.url, { migrationsDir: dir }), ["20991231000000"]);
      assert.deepEqual(await applyMigrations(db.url, { migrationsDir: dir }), []);
      const [column] = await sql`
        select 1 from information_schema.columns
        where table_schema = 'public' and table_name = 'profiles' and column_name = 'note'
      `;
      assert.ok(column);
      const [row] = await sql<{ name: string; statements: string[] }[]>`
        select name, statements from supabase_migrations.schema_migrations
        where version = '20991231000000'
      `;
      assert.deepEqual(row, {
        name: "add_profile_note",
        statements: ["-- A note.\nalter table public.profiles add column note text;"],
      });
    });
  });
});

Deno.test("a failing migration is rolled back with its tracking row", async () => {
  await withDatabase(async (sql, db) => {
    await withMigrationsCopy(async (dir) => {
      await Deno.writeTextFile(
        `${dir}/20991231000000_half_done.sql`,
        "create table public.half_done (id int);\nselect 1 / 0;\n",
      );
      await assert.rejects(
        () => applyMigrations(db.url, { migrationsDir: dir }),
        /Migration "20991231000000_half_done" failed/,
      );
      const [table] = await sql`select to_regclass('public.half_done') as name`;
      assert.equal(table?.name, null);
      const rows = await sql`
        select 1 from supabase_migrations.schema_migrations where version = '20991231000000'
      `;
      assert.equal(rows.length, 0);
    });
  });
});

Deno.test("the migration back-fills profiles for users that already exist", async () => {
  const empty = await Deno.makeTempDir({ prefix: "migrations_" });
  try {
    await withDatabase(async (sql, db) => {
      const user = await createUser(sql);
      assert.deepEqual(
        await applyMigrations(db.url),
        (await listMigrations(MIGRATIONS_DIR)).map(
          (migration) => migration.version,
        ),
      );
      const [profile] = await sql`select email from public.profiles where id = ${user.id}`;
      assert.equal(profile?.email, user.email);
    }, { migrationsDir: empty });
  } finally {
    await Deno.remove(empty, { recursive: true });
  }
});

Deno.test("the profile trigger creates a profile for a new auth user", async () => {
  await withDatabase(async (sql) => {
    const user = await createUser(sql);
    const [profile] = await sql`
      select email, stripe_customer_id, subscription_status, cancel_at_period_end
      from public.profiles where id = ${user.id}
    `;
    assert.deepEqual({ ...profile }, {
      email: user.email,
      stripe_customer_id: null,
      subscription_status: null,
      cancel_at_period_end: false,
    });
  });
});

Deno.test("changing a user's email updates their profile, deleting the user deletes it", async () => {
  await withDatabase(async (sql) => {
    const user = await createUser(sql);
    await sql`update auth.users set email = 'renamed@example.com' where id = ${user.id}`;
    const [profile] = await sql`select email from public.profiles where id = ${user.id}`;
    assert.equal(profile?.email, "renamed@example.com");
    await sql`delete from auth.users where id = ${user.id}`;
    assert.equal((await sql`select 1 from public.profiles where id = ${user.id}`).length, 0);
  });
});

Deno.test("subscription_status accepts only Stripe's statuses", async () => {
  await withDatabase(async (sql) => {
    const user = await createUser(sql);
    await sql`update public.profiles set subscription_status = 'paused' where id = ${user.id}`;
    await assert.rejects(
      () => sql`update public.profiles set subscription_status = 'gold' where id = ${user.id}`,
      (error: { code?: string }) => error.code === "23514",
    );
  });
});

Deno.test("a signed-in user reads only their own profile", async () => {
  await withDatabase(async (sql) => {
    const alice = await createUser(sql);
    const bob = await createUser(sql);
    const rows = await asCaller(
      sql,
      { role: "authenticated", userId: alice.id },
      (tx) => tx`select id, email from public.profiles`,
    );
    assert.deepEqual(rows.map((row) => ({ ...row })), [{ id: alice.id, email: alice.email }]);
    const others = await asCaller(
      sql,
      { role: "authenticated", userId: alice.id },
      (tx) => tx`select 1 from public.profiles where id = ${bob.id}`,
    );
    assert.equal(others.length, 0);
  });
});

Deno.test("a signed-in user cannot insert, update, upsert or delete any profile", async () => {
  await withDatabase(async (sql) => {
    const alice = await createUser(sql);
    const bob = await createUser(sql);
    const caller: Caller = { role: "authenticated", userId: alice.id };
    for (
      const query of [
        `insert into public.profiles (id) values ('${crypto.randomUUID()}')`,
        `update public.profiles set subscription_status = 'active' where id = '${alice.id}'`,
        `update public.profiles set stripe_customer_id = 'cus_x' where id = '${alice.id}'`,
        `update public.profiles set email = 'x@example.com' where id = '${alice.id}'`,
        `update public.profiles set subscription_status = 'active' where id = '${bob.id}'`,
        `delete from public.profiles where id = '${alice.id}'`,
        `insert into public.profiles (id, subscription_status) values ('${alice.id}', 'active')
         on conflict (id) do update set subscription_status = excluded.subscription_status`,
      ]
    ) {
      await assertDenied(sql, caller, query);
    }
    const [profile] =
      await sql`select subscription_status from public.profiles where id = ${alice.id}`;
    assert.equal(profile?.subscription_status, null);
  });
});

Deno.test("anon reads and writes no profile", async () => {
  await withDatabase(async (sql) => {
    const user = await createUser(sql);
    for (
      const query of [
        "select * from public.profiles",
        `insert into public.profiles (id) values ('${crypto.randomUUID()}')`,
        `update public.profiles set subscription_status = 'active' where id = '${user.id}'`,
        `delete from public.profiles where id = '${user.id}'`,
      ]
    ) {
      await assertDenied(sql, { role: "anon" }, query);
    }
  });
});

Deno.test("the Stripe event ledger is invisible to anon and signed-in users", async () => {
  await withDatabase(async (sql) => {
    const user = await createUser(sql);
    await sql`insert into public.stripe_events (id, type) values ('evt_ledger', 'invoice.paid')`;
    for (const caller of [{ role: "anon" }, { role: "authenticated", userId: user.id }] as const) {
      await assertDenied(sql, caller, "select * from public.stripe_events");
      await assertDenied(
        sql,
        caller,
        "insert into public.stripe_events (id, type) values ('evt_forged', 'invoice.paid')",
      );
      await assertDenied(sql, caller, "delete from public.stripe_events");
    }
  });
});

Deno.test("has_active_subscription answers for the caller and never reveals other users", async () => {
  await withDatabase(async (sql) => {
    const alice = await createUser(sql);
    const bob = await createUser(sql);
    await sql`
      update public.profiles set subscription_status = 'active' where id in (${alice.id}, ${bob.id})
    `;
    const check = (userId: string, target?: string) =>
      asCaller(sql, { role: "authenticated", userId }, async (tx) => {
        const [row] = target
          ? await tx`select public.has_active_subscription(${target}) as active`
          : await tx`select public.has_active_subscription() as active`;
        return row?.active;
      });
    assert.equal(await check(alice.id), true);
    assert.equal(await check(alice.id, bob.id), false);
    await sql`update public.profiles set subscription_status = 'trialing' where id = ${alice.id}`;
    assert.equal(await check(alice.id), true);
    await sql`update public.profiles set subscription_status = 'past_due' where id = ${alice.id}`;
    assert.equal(await check(alice.id), false);
    const [asOwner] = await sql`select public.has_active_subscription(${bob.id}) as active`;
    assert.equal(asOwner?.active, true);
    const asAnon = await asCaller(
      sql,
      { role: "anon" },
      (tx) => tx`select public.has_active_subscription(${bob.id}) as active`,
    );
    assert.equal(asAnon[0]?.active, false);
  });
});

Deno.test("splitStatements keeps dollar-quoted bodies, quotes and comments whole", () => {
  assert.deepEqual(
    splitStatements(
      "-- header\ncreate function f() returns int language sql as $$ select 1; $$;\n" +
        "select 'a;b', \"c;d\"; /* x; */ select $t$;$t$;\n-- trailing\n",
    ),
    [
      "-- header\ncreate function f() returns int language sql as $$ select 1; $$;",
      "select 'a;b', \"c;d\";",
      "/* x; */ select $t$;$t$;",
    ],
  );
});

Deno.test({
  name: "the embedded database keeps its data in dataDir between runs",
  ignore: SERVER_URL !== undefined,
  async fn() {
    const dataDir = await Deno.makeTempDir({ prefix: "pglite_" });
    try {
      let userId = "";
      await withDatabase(async (sql) => {
        userId = (await createUser(sql)).id;
      }, { dataDir });
      await withDatabase(async (sql, db) => {
        assert.deepEqual(await applyMigrations(db.url), []);
        const [profile] = await sql`select id from public.profiles where id = ${userId}`;
        assert.equal(profile?.id, userId);
      }, { dataDir });
    } finally {
      await Deno.remove(dataDir, { recursive: true });
    }
  },
});

Deno.test({
  name: "closing a server database drops it",
  ignore: SERVER_URL === undefined,
  async fn() {
    const db = await startDatabase({ serverUrl: SERVER_URL });
    const name = new URL(db.url).pathname.slice(1);
    await db.close();
    const sql = connect(SERVER_URL ?? "", { max: 1 });
    try {
      const rows = await sql`select 1 from pg_database where datname = ${name}`;
      assert.equal(rows.length, 0);
    } finally {
      await sql.end();
    }
  },
});

// The wire server is the embedded backend's only way in, so its guarantees are tested directly,
// on a bare PGlite, whichever backend the rest of the run uses.

async function withWireServer(fn: (url: string) => Promise<void>): Promise<void> {
  const db = await PGlite.create();
  const server = servePglite(db);
  try {
    await fn(`postgres://postgres@127.0.0.1:${server.port}/postgres`);
  } finally {
    await server.close();
    await db.close();
  }
}

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve = () => {};
  const promise = new Promise<void>((done) => resolve = done);
  return { promise, resolve };
}

async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<false>((resolve) => timer = setTimeout(() => resolve(false), ms));
  try {
    return await Promise.race([promise.then(() => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

Deno.test("20 concurrent transactions through the wire server each commit their increment", async () => {
  await withWireServer(async (url) => {
    const sql = connect(url, { max: 20 });
    try {
      await sql`create table counter (id int primary key, n int not null)`;
      await sql`insert into counter values (1, 0)`;
      const seen = await Promise.all(Array.from({ length: 20 }, () =>
        sql.begin(async (tx) => {
          const [row] = await tx<{ n: number }[]>`select n from counter where id = 1`;
          // Yield so that other connections' messages arrive while this transaction is open.
          await new Promise((resolve) => setTimeout(resolve, 2));
          await tx`update counter set n = n + 1 where id = 1`;
          return row?.n;
        })));
      const [counter] = await sql<{ n: number }[]>`select n from counter where id = 1`;
      assert.equal(counter?.n, 20);
      // Serialized: every transaction saw a different count.
      assert.deepEqual([...seen].sort((a, b) => (a ?? 0) - (b ?? 0)), [...Array(20).keys()]);
    } finally {
      await sql.end();
    }
  });
});

Deno.test("a transaction left open by one client blocks another until it commits", async () => {
  await withWireServer(async (url) => {
    const first = connect(url, { max: 1 });
    const second = connect(url, { max: 1 });
    try {
      await first`create table items (id int)`;
      const inserted = deferred();
      const commit = deferred();
      const transaction = first.begin(async (tx) => {
        await tx`insert into items values (1)`;
        inserted.resolve();
        await commit.promise;
      });
      await inserted.promise;
      const read = second<{ count: number }[]>`select count(*)::int as count from items`;
      assert.equal(await settlesWithin(read, 300), false);
      commit.resolve();
      await transaction;
      const [row] = await read;
      assert.equal(row?.count, 1);
    } finally {
      await first.end();
      await second.end();
    }
  });
});

Deno.test("a client that disconnects inside a transaction is rolled back and unblocks others", async () => {
  await withWireServer(async (url) => {
    const setup = connect(url, { max: 1 });
    const leaving = connect(url, { max: 1 });
    try {
      await setup`create table items (id int)`;
      const reserved = await leaving.reserve();
      await reserved`begin`;
      await reserved`insert into items values (1)`;
      const read = setup<{ count: number }[]>`select count(*)::int as count from items`;
      assert.equal(await settlesWithin(read, 200), false);
      await leaving.end({ timeout: 0 });
      const [row] = await read;
      assert.equal(row?.count, 0);
    } finally {
      await setup.end();
      await leaving.end();
    }
  });
});

Deno.test("parameterized queries from many connections get their own results", async () => {
  await withWireServer(async (url) => {
    const sql = connect(url, { max: 10 });
    try {
      const results = await Promise.all(Array.from({ length: 100 }, async (_, i) => {
        const [row] = await sql<{ i: number; text: string }[]>`
          select ${i}::int as i, ${`value ${i}`}::text as text
        `;
        return row;
      }));
      results.forEach((row, i) => assert.deepEqual({ ...row }, { i, text: `value ${i}` }));
      await assert.rejects(() => sql`select 1 / ${0}::int`, /division by zero/);
      const [after] = await sql`select 1 as one`;
      assert.equal(after?.one, 1);
    } finally {
      await sql.end();
    }
  });
});

Deno.test("the wire server declines SSL and then accepts a plaintext startup", async () => {
  await withWireServer(async (url) => {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: Number(new URL(url).port) });
    try {
      const request = new Uint8Array(8);
      new DataView(request.buffer).setInt32(0, 8);
      new DataView(request.buffer).setInt32(4, 80877103);
      await conn.write(request);
      const answer = new Uint8Array(1);
      assert.equal(await conn.read(answer), 1);
      assert.equal(String.fromCharCode(answer[0] ?? 0), "N");
      // The startup goes on the same connection, as a client falling back to plain text does.
      const parameters = new TextEncoder().encode("user\0postgres\0database\0postgres\0\0");
      const startup = new Uint8Array(8 + parameters.length);
      new DataView(startup.buffer).setInt32(0, startup.length);
      new DataView(startup.buffer).setInt32(4, 196608);
      startup.set(parameters, 8);
      await conn.write(startup);
      const reply = new Uint8Array(9);
      let read = 0;
      while (read < reply.length) {
        const count = await conn.read(reply.subarray(read));
        assert.notEqual(count, null, "the server closed the connection");
        read += count ?? 0;
      }
      const view = new DataView(reply.buffer);
      assert.equal(String.fromCharCode(reply[0] ?? 0), "R", "an authentication message");
      assert.equal(view.getInt32(5), 0, "AuthenticationOk");
    } finally {
      conn.close();
    }
  });
});
