import assert from "node:assert/strict";
import { CATALOG } from "../../dev/stripe/mod.ts";
import { createStripe } from "../../supabase/functions/_shared/stripe.ts";
import { baseEnv, taskArgs } from "../_support/dev_process.ts";
import { freePort } from "../_support/ports.ts";
import { receiver, verified } from "./support.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

/** The value printed after `label` on a line of the start-up output. */
function printed(output: string, label: string): string {
  const line = output.split("\n").find((entry) => entry.trimStart().startsWith(label));
  assert.ok(line, `the output has no "${label}" line:\n${output}`);
  return line.trim().slice(label.length).trim();
}

Deno.test({
  name:
    "deno task emulator runs the emulator alone, prints what to configure, signs deliveries, and stops on Ctrl-C",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const hook = receiver();
    const port = freePort();
    const child = new Deno.Command(Deno.execPath(), {
      args: await taskArgs("emulator", ["--webhook-url", hook.url]),
      cwd: ROOT,
      clearEnv: true,
      // Empty values win over supabase/functions/.env, so the defaults are what is printed.
      env: {
        ...baseEnv(),
        NO_COLOR: "1",
        STRIPE_EMULATOR_PORT: String(port),
        STRIPE_SECRET_KEY: "",
        STRIPE_WEBHOOK_SECRET: "",
      },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    let output = "";
    const decoder = new TextDecoder();
    const drain = async (stream: ReadableStream<Uint8Array>) => {
      for await (const chunk of stream) output += decoder.decode(chunk, { stream: true });
    };
    const drained = Promise.all([drain(child.stdout), drain(child.stderr)]);
    try {
      const deadline = Date.now() + 60_000;
      while (!output.includes("Press Ctrl-C to stop.")) {
        assert.ok(Date.now() < deadline, `the emulator did not start:\n${output}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      const apiUrl = printed(output, "STRIPE_API_URL");
      assert.equal(apiUrl, `http://127.0.0.1:${port}`);
      const secretKey = printed(output, "STRIPE_SECRET_KEY");
      const webhookSecret = printed(output, "STRIPE_WEBHOOK_SECRET");
      assert.match(secretKey, /^sk_test_\w+$/);
      assert.match(webhookSecret, /^whsec_\w+$/);
      assert.equal(printed(output, "webhooks to"), hook.url);
      for (const id of Object.values(CATALOG.prices)) assert.ok(output.includes(id), id);

      const stripe = createStripe({
        secretKey,
        api: { host: "127.0.0.1", port, protocol: "http" },
        maxNetworkRetries: 0,
      });
      const customer = await stripe.customers.create({ email: "ada@example.com" });
      const deliveryDeadline = Date.now() + 10_000;
      while (hook.received.length === 0) {
        assert.ok(Date.now() < deliveryDeadline, "no delivery arrived");
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      const [delivery] = hook.received;
      assert.ok(delivery);
      assert.equal(delivery.path, "/webhook");
      const event = await verified(delivery, webhookSecret);
      assert.equal(event.type, "customer.created");
      assert.equal((event.data.object as { id: string }).id, customer.id);

      child.kill("SIGINT");
      const status = await child.status;
      assert.equal(status.code, 0);
    } finally {
      try {
        child.kill("SIGKILL");
      } catch {
        // Already stopped.
      }
      await child.status;
      await drained;
      await hook.close();
    }
  },
});
