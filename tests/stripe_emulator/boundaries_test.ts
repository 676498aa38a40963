import assert from "node:assert/strict";
import { HostCheck } from "../../dev/stripe/hosts.ts";
import { API_VERSION } from "../../dev/stripe/mod.ts";
import { StateFile } from "../../dev/stripe/state_file.ts";
import { STRIPE_API_VERSION } from "../../supabase/functions/_shared/stripe.ts";

const EMULATOR_DIR = new URL("../../dev/stripe/", import.meta.url);

Deno.test("the emulator speaks the API version the functions pin", () => {
  assert.equal(API_VERSION, STRIPE_API_VERSION);
});

Deno.test("the emulator imports nothing of the product at run time, only the SDK's types", async () => {
  const offenders: string[] = [];
  let files = 0;
  for await (const entry of Deno.readDir(EMULATOR_DIR)) {
    if (!entry.isFile || !entry.name.endsWith(".ts")) continue;
    files += 1;
    const text = await Deno.readTextFile(new URL(entry.name, EMULATOR_DIR));
    for (const match of text.matchAll(/^(import|export)\b([^;]*?)from\s+"([^"]+)"/gms)) {
      const [statement, , clause = "", specifier = ""] = match;
      const product = specifier.includes("supabase/") || specifier.startsWith("npm:");
      if (product && !/^\s*type\b/.test(clause)) offenders.push(`${entry.name}: ${statement}`);
    }
  }
  assert.ok(files > 10, "the emulator's files were not found");
  assert.deepEqual(offenders, []);
});

Deno.test("the host check answers loopback names and the public URL's host only", () => {
  const hosts = new HostCheck(["http://stripe.internal:12111"], ["emulator"]);
  for (const host of ["127.0.0.1:12111", "localhost", "[::1]:80", "app.localhost:3000"]) {
    assert.equal(hosts.allows(host), true, host);
  }
  assert.equal(hosts.allows("stripe.internal:12111"), true);
  assert.equal(hosts.allows("EMULATOR"), true);
  for (const host of ["attacker.example", "127.0.0.1.nip.io", "localhost.attacker.example"]) {
    assert.equal(hosts.allows(host), false, host);
  }
  assert.equal(hosts.allows(null), false);
});

Deno.test("the state file writes whole files readable by their owner only, the latest last", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const file = new StateFile(`${dir}/state.json`);
    assert.equal(await file.read(), null);
    await Promise.all([file.write({ n: 1 }), file.write({ n: 2 }), file.write({ n: 3 })]);
    assert.deepEqual(await file.read(), { n: 3 });
    assert.equal(((await Deno.stat(`${dir}/state.json`)).mode ?? 0) & 0o777, 0o600);
    const names = [];
    for await (const entry of Deno.readDir(dir)) names.push(entry.name);
    assert.deepEqual(names, ["state.json"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
