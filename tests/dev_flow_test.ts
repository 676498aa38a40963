import assert from "node:assert/strict";
import { connect } from "../dev/postgres.ts";
import {
  baseEnv,
  freePorts,
  SKIPPED_ON_SERVER_RUNS,
  startDev,
  statusOf,
  taskArgs,
  taskToken,
} from "./_support/dev_process.ts";
import { freePort } from "./_support/ports.ts";
import { eventually } from "./_support/time.ts";

async function post(url: string, token: string): Promise<Response> {
  return await fetch(url, { method: "POST", headers: { Authorization: `Bearer ${token}` } });
}

async function pressButton(pageUrl: string, form: Record<string, string> = {}): Promise<Response> {
  return await fetch(pageUrl, {
    method: "POST",
    body: new URLSearchParams(form),
    redirect: "manual",
  });
}

Deno.test({
  name:
    "deno task dev runs checkout, payment, portal and cancel with zero configuration, and keeps them across a restart",
  ignore: SKIPPED_ON_SERVER_RUNS,
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const dataDir = await Deno.makeTempDir({ prefix: "billing-dev-" });
    const ports = freePorts();
    const appUrl = `http://127.0.0.1:${freePort()}`;
    let dev = await startDev({ dataDir, ports, env: { URL: appUrl } });
    try {
      const printed = dev.output();
      for (
        const hint of [
          "deno task token",
          "curl -X POST",
          "/functions/v1/stripe-checkout",
          "/api/stripe/checkout",
        ]
      ) {
        assert.ok(printed.includes(hint), `start-up output lacks "${hint}":\n${printed}`);
      }

      const jwks = await fetch(`${dev.baseUrl}/auth/v1/.well-known/jwks.json`);
      assert.equal(jwks.status, 200);
      assert.equal(((await jwks.json()) as { keys: unknown[] }).keys.length, 1);

      const { token, note } = await taskToken(ports.app, "flow@example.com");
      assert.match(note, /^Created user flow@example\.com \(([0-9a-f-]{36})\)/);
      const userId = /\(([0-9a-f-]{36})\)/.exec(note)?.[1] ?? "";

      // Checkout at the /api/stripe path, then pay on the emulator's page.
      const checkout = await post(`${dev.baseUrl}/api/stripe/checkout`, token);
      assert.equal(checkout.status, 200);
      const { url: checkoutUrl } = await checkout.json() as { url: string };
      const page = await fetch(checkoutUrl);
      assert.equal(page.status, 200);
      assert.match(await page.text(), />\s*Pay\s*</);
      const paid = await pressButton(checkoutUrl);
      assert.equal(paid.status, 303);
      assert.ok(paid.headers.get("location")?.startsWith(`${appUrl}/dashboard`));
      await paid.body?.cancel();

      let sql = connect(dev.databaseUrl, { max: 1 });
      try {
        await eventually(
          "the profile to become active",
          async () => await statusOf(sql, userId) === "active" ? true : undefined,
        );
      } finally {
        await sql.end();
      }

      // A second checkout is refused; the portal opens at the Supabase path.
      assert.equal((await post(`${dev.baseUrl}/functions/v1/stripe-checkout`, token)).status, 400);
      const portal = await post(`${dev.baseUrl}/functions/v1/stripe-portal`, token);
      assert.equal(portal.status, 200);
      const { url: portalUrl } = await portal.json() as { url: string };
      const portalPage = await (await fetch(portalUrl)).text();
      for (
        const label of [
          "Cancel at period end",
          "Cancel now",
          "Fail next payment",
          "Renew now (test)",
          "Return",
        ]
      ) {
        assert.ok(portalPage.includes(label), label);
      }
      assert.ok(!portalPage.includes("Pay now"), "no Pay now on a paid subscription");

      // Stop and start again: the user and the subscription are still there.
      await dev.stop();
      dev = await startDev({ dataDir, ports, env: { URL: appUrl } });
      const again = await taskToken(ports.app, "flow@example.com");
      assert.match(again.note, /^Existing user flow@example\.com/);
      assert.ok(again.note.includes(userId));
      sql = connect(dev.databaseUrl, { max: 1 });
      try {
        assert.equal(await statusOf(sql, userId), "active");
        const reopened = await post(`${dev.baseUrl}/functions/v1/stripe-portal`, again.token);
        assert.equal(reopened.status, 200);
        const { url } = await reopened.json() as { url: string };
        const canceled = await pressButton(url, { action: "cancel-now" });
        assert.equal(canceled.status, 303);
        await canceled.body?.cancel();
        await eventually(
          "the profile to become canceled",
          async () => await statusOf(sql, userId) === "canceled" ? true : undefined,
        );
      } finally {
        await sql.end();
      }
    } finally {
      await dev.stop();
      await Deno.remove(dataDir, { recursive: true });
    }
  },
});

Deno.test("deno task dev --reset refuses while its port is in use, and keeps the data", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "billing-dev-" });
  const kept = `${dataDir}/kept`;
  await Deno.writeTextFile(kept, "a running server's file");
  const busy = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    const output = await new Deno.Command(Deno.execPath(), {
      args: await taskArgs("dev", ["--reset"]),
      cwd: new URL("..", import.meta.url).pathname,
      clearEnv: true,
      env: { ...baseEnv(), NO_COLOR: "1", DEV_DATA_DIR: dataDir, PORT: String(busy.addr.port) },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stderr = new TextDecoder().decode(output.stderr);
    assert.equal(output.code, 1, stderr);
    assert.match(stderr, new RegExp(`port ${busy.addr.port} is in use`));
    assert.equal(await Deno.readTextFile(kept), "a running server's file");
  } finally {
    busy.close();
    await Deno.remove(dataDir, { recursive: true });
  }
});
