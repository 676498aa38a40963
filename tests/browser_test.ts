/**
 * A person's path through a real browser: an app on another origin calls the functions through
 * supabase-js (so the browser sends real CORS preflights), pays on the checkout page and cancels in
 * the portal. Runs when Chromium is installed (CI installs Debian's); screenshots of every page go
 * to test-artifacts/.
 */
import assert from "node:assert/strict";
import { connect } from "../dev/postgres.ts";
import { ARTIFACTS, hasChromium, launchChromium } from "./_support/chromium.ts";
import {
  freePorts,
  SKIPPED_ON_SERVER_RUNS,
  startDev,
  statusOf,
  taskToken,
} from "./_support/dev_process.ts";
import { freePort } from "./_support/ports.ts";
import { eventually } from "./_support/time.ts";

const SUPABASE_JS = "npm:@supabase/supabase-js@2.119.1";

/** The browser build of supabase-js, read from Deno's npm cache. */
async function supabaseJsBundle(): Promise<string> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", SUPABASE_JS],
    stdout: "piped",
    stderr: "null",
  }).output();
  const info = JSON.parse(new TextDecoder().decode(output.stdout)) as {
    npmPackages: Record<string, { name: string; localPath?: string }>;
  };
  const entry = Object.values(info.npmPackages).find((p) => p.name === "@supabase/supabase-js");
  if (!entry?.localPath) throw new Error("supabase-js is not in Deno's npm cache");
  return await Deno.readTextFile(`${entry.localPath}/dist/umd/supabase.js`);
}

function appPage(functionsUrl: string, token: string): string {
  return `<!doctype html><html><head><title>Demo app</title><script src="/supabase.js"></script></head>
<body><h1>Demo app</h1><p id="status">idle</p>
<button id="subscribe">Subscribe</button> <button id="manage">Manage billing</button>
<script>
  const client = supabase.createClient(${
    JSON.stringify(functionsUrl)
  }, "sb_publishable_local_demo");
  const headers = { Authorization: "Bearer ${token}" };
  async function open(name) {
    document.getElementById("status").textContent = "calling " + name;
    const { data, error } = await client.functions.invoke(name, { headers });
    if (error) { document.getElementById("status").textContent = "error: " + error.message; return; }
    location.href = data.url;
  }
  document.getElementById("subscribe").onclick = () => open("stripe-checkout");
  document.getElementById("manage").onclick = () => open("stripe-portal");
</script></body></html>`;
}

Deno.test({
  name:
    "in a browser, an app on another origin subscribes through supabase-js, pays, and cancels in the portal",
  ignore: !hasChromium() || SKIPPED_ON_SERVER_RUNS,
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const dataDir = await Deno.makeTempDir({ prefix: "billing-browser-" });
    const ports = freePorts();
    const appPort = freePort();
    const appUrl = `http://localhost:${appPort}`;
    const bundle = await supabaseJsBundle();
    const dev = await startDev({ dataDir, ports, env: { URL: appUrl } });
    const { token, note } = await taskToken(ports.app, "browser@example.com");
    const userId = /\(([0-9a-f-]{36})\)/.exec(note)?.[1] ?? "";
    const app = Deno.serve({ hostname: "127.0.0.1", port: appPort, onListen() {} }, (request) => {
      const path = new URL(request.url).pathname;
      if (path === "/supabase.js") {
        return new Response(bundle, { headers: { "Content-Type": "text/javascript" } });
      }
      const html = path.startsWith("/dashboard")
        ? appPage(dev.baseUrl, token).replace("<h1>Demo app</h1>", "<h1>Dashboard</h1>")
        : appPage(dev.baseUrl, token);
      return new Response(html, { headers: { "Content-Type": "text/html" } });
    });
    const browser = await launchChromium();
    const sql = connect(dev.databaseUrl, { max: 1 });
    try {
      const page = await browser.newPage();
      await page.goto(appUrl);
      await page.screenshot({ path: `${ARTIFACTS}1-app.png` });

      await page.click("#subscribe");
      await page.waitForURL(/\/c\/pay\//);
      await page.screenshot({ path: `${ARTIFACTS}2-checkout.png`, fullPage: true });
      await page.getByRole("button", { name: "Pay" }).click();
      await page.waitForURL(new RegExp(`^${appUrl}/dashboard`));
      await page.screenshot({ path: `${ARTIFACTS}3-dashboard-after-pay.png` });
      await eventually(
        "the profile to become active",
        async () => await statusOf(sql, userId) === "active" ? true : undefined,
      );

      await page.click("#manage");
      await page.waitForURL(/\/p\/session\//);
      await page.screenshot({ path: `${ARTIFACTS}4-portal.png`, fullPage: true });
      await page.getByRole("button", { name: "Cancel now" }).click();
      await page.waitForLoadState();
      await page.screenshot({ path: `${ARTIFACTS}5-portal-canceled.png`, fullPage: true });
      await eventually(
        "the profile to become canceled",
        async () => await statusOf(sql, userId) === "canceled" ? true : undefined,
      );
      await page.getByRole("button", { name: "Return" }).click();
      await page.waitForURL(new RegExp(`^${appUrl}/dashboard`));
      await page.screenshot({ path: `${ARTIFACTS}6-dashboard-after-cancel.png` });

      // The browser really asked first: supabase-js's headers need the CORS preflight, which the
      // functions logged.
      const logged = dev.output().split("\n").filter((line) => line.startsWith("{"))
        .map((line) => JSON.parse(line) as Record<string, unknown>);
      for (const name of ["stripe-checkout", "stripe-portal"]) {
        assert.ok(
          logged.some((entry) => entry.function === name && entry.outcome === "preflight"),
          `no preflight reached ${name}`,
        );
      }
    } finally {
      await sql.end();
      await browser.close();
      await app.shutdown();
      await dev.stop();
      await Deno.remove(dataDir, { recursive: true });
    }
  },
});
