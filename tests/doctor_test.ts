/**
 * `deno task doctor` as an operator runs it, against the emulator and a database: a correct
 * set-up passes every check, and each broken variable, key, price or endpoint fails its own line.
 */
import assert from "node:assert/strict";
import { startStripeEmulator } from "../dev/stripe/mod.ts";
import { HANDLED_EVENT_TYPES } from "../supabase/functions/_shared/events.ts";
import { createStripe, STRIPE_API_VERSION } from "../supabase/functions/_shared/stripe.ts";
import {
  assertChecks,
  correctSetUp,
  createEndpoint,
  doctorTest,
  goodVariables,
  projectUrl,
  runDoctor,
} from "./_support/doctor.ts";

doctorTest("deno task doctor passes every check of a correct set-up and exits 0", async (setUp) => {
  const { project, endpoint, variables } = await correctSetUp(setUp);
  for (const source of ["env-file", "environment"] as const) {
    const run = await runDoctor(variables, [], source);
    assertChecks(run, []);
    const passed = run.lines.filter((line) => line.startsWith("✓ "));
    assert.deepEqual(
      passed.map((line) => /^✓ ([A-Z_]+):/.exec(line)?.[1]).filter(Boolean),
      Object.keys(variables),
    );
    assert.match(run.stdout, /^✓ Stripe accepts STRIPE_SECRET_KEY \(test mode\)$/m);
    assert.match(run.stdout, /^✓ The prices are test-mode prices, like STRIPE_SECRET_KEY$/m);
    assert.match(
      run.stdout,
      /^✓ Price "basic_monthly" \(STRIPE_PRICE_IDS\) is price_local_basic: /m,
    );
    assert.match(
      run.stdout,
      new RegExp(
        `^✓ Webhook endpoint ${endpoint.id} sends the ${HANDLED_EVENT_TYPES.length} `,
        "m",
      ),
    );
    assert.ok(run.stdout.includes(`${project}/functions/v1/stripe-webhook`));
    assert.match(run.stdout, /^✓ Database migrated: /m);
    assert.match(run.stdout, /^✓ No policy, grant or view lets anon or a user read /m);
    assert.match(run.stdout, new RegExp(`^All ${passed.length} checks pass\\.$`, "m"));
  }
});

doctorTest(
  "deno task doctor fails exactly the line of a missing or malformed variable, with what to run",
  async (setUp) => {
    const { variables } = await correctSetUp(setUp);
    const cases: [string, string | undefined, RegExp][] = [
      [
        "URL",
        undefined,
        /^✗ Missing environment variable "URL" \(read by stripe-checkout, stripe-portal\) → supabase secrets set URL=https:/,
      ],
      [
        "BILLING_SYNC_SECRET",
        undefined,
        /^✗ Missing environment variable "BILLING_SYNC_SECRET" \(read by stripe-sync\) → supabase secrets set BILLING_SYNC_SECRET=\$\(openssl rand -hex 32\)$/,
      ],
      [
        "STRIPE_WEBHOOK_SECRET",
        "sk_test_pasted_in_the_wrong_place",
        /^✗ Malformed environment variable "STRIPE_WEBHOOK_SECRET": expected whsec_\.\.\. \(read by stripe-webhook\) → .*deno task doctor --fix.*supabase secrets set STRIPE_WEBHOOK_SECRET=whsec_\.\.\.$/,
      ],
      [
        "STRIPE_TRIAL_DAYS",
        "0",
        /^✗ Malformed environment variable "STRIPE_TRIAL_DAYS": expected a whole number of days from 1 to 730 \(read by stripe-checkout, stripe-webhook, stripe-sync\) → supabase secrets set STRIPE_TRIAL_DAYS=14 \(1 to 730\), or unset it$/,
      ],
    ];
    for (const [name, value, pattern] of cases) {
      const broken = { ...variables };
      if (value === undefined) delete broken[name];
      else broken[name] = value;
      assertChecks(await runDoctor(broken), [pattern]);
    }
  },
);

doctorTest(
  "deno task doctor takes the project URL from --url when SUPABASE_URL is unset, and fails the endpoint's line without either",
  async (setUp) => {
    const { project, endpoint, variables } = await correctSetUp(setUp);
    const { SUPABASE_URL: _, ...withoutUrl } = variables;
    const fromFlag = await runDoctor(withoutUrl, ["--url", project]);
    assertChecks(fromFlag, []);
    assert.match(
      fromFlag.stdout,
      new RegExp(`^✓ SUPABASE_URL: ${project}, from --url, as Supabase sets it for deployed `, "m"),
    );
    assert.match(fromFlag.stdout, new RegExp(`^✓ Webhook endpoint ${endpoint.id} sends `, "m"));

    const jwks = JSON.stringify({ keys: [{ kty: "EC", crv: "P-256", x: "x", y: "y" }] });
    const neither = await runDoctor({ ...withoutUrl, SUPABASE_JWKS: jwks });
    assertChecks(neither, [
      /^✗ Webhook endpoint: no project URL to look for → pass --url https:\/\/<ref>\.supabase\.co, or set SUPABASE_URL$/,
    ]);
    assert.match(neither.stdout, /^✓ SUPABASE_URL: not set \(SUPABASE_JWKS is\) /m);
  },
);

doctorTest(
  "deno task doctor says on their own lines which checks could not run without a Stripe key",
  async (setUp) => {
    const { variables } = await correctSetUp(setUp);
    const { STRIPE_SECRET_KEY: _, ...withoutKey } = variables;
    const run = await runDoctor(withoutKey);
    assertChecks(
      run,
      [/^✗ Missing environment variable "STRIPE_SECRET_KEY" \(read by all functions\) → supabase secrets set STRIPE_SECRET_KEY=sk_live_/],
      [
        /^✗ Stripe key: not checked, STRIPE_SECRET_KEY is not usable \(above\)$/,
        /^✗ Prices in the same mode as STRIPE_SECRET_KEY: not checked, STRIPE_SECRET_KEY is not usable/,
        /^✗ Prices: not checked, /,
        /^✗ Webhook endpoint https:\/\/.*\/functions\/v1\/stripe-webhook: not checked, /,
      ],
    );
    assert.match(run.stdout, /^✓ Database migrated: /m);
    assert.match(run.stdout, /^1 of \d+ checks fail, 4 could not run\.$/m);
  },
);

doctorTest(
  "deno task doctor fails the key's line when Stripe refuses it, and shows no part of it",
  async (setUp) => {
    const { variables } = await correctSetUp(setUp);
    const run = await runDoctor({
      ...variables,
      STRIPE_SECRET_KEY: "sk_test_revokedKey0123456789",
    });
    assertChecks(
      run,
      [/^✗ Stripe refused STRIPE_SECRET_KEY: Invalid API Key provided: .* → supabase secrets set STRIPE_SECRET_KEY=/],
      [
        /^✗ Prices in the same mode /,
        /^✗ Prices: /,
        /^✗ Webhook endpoint .*: not checked, the key check failed \(above\)$/,
      ],
    );
  },
);

doctorTest(
  "deno task doctor fails the mode line for a live key with test-mode prices",
  async ({ databaseUrl }) => {
    const liveKey = "sk_live_doctor0123456789";
    const live = await startStripeEmulator({ secretKey: liveKey });
    try {
      live.emulator.setOutage(true);
      const project = projectUrl();
      const variables = goodVariables({
        stripeApiUrl: live.url,
        secretKey: liveKey,
        databaseUrl,
        project,
      });
      const liveStripe = createStripe({
        secretKey: liveKey,
        api: { host: "127.0.0.1", port: Number(new URL(live.url).port), protocol: "http" },
      });
      await createEndpoint(liveStripe, project);
      // Stripe's answer to a live key asking for a price of test mode.
      live.emulator.failNext({
        method: "GET",
        path: /^\/v1\/prices\/price_local_pro$/,
        status: 404,
        error: {
          code: "resource_missing",
          message:
            "No such price: 'price_local_pro'; a similar object exists in test mode, but a live mode key was used to make this request.",
        },
      });
      const run = await runDoctor(variables);
      assertChecks(
        run,
        [/^✗ STRIPE_SECRET_KEY is a live-mode key, but "price_local_pro" \(STRIPE_PRICE_ID\) is a test-mode price → use the live-mode prices .*supabase secrets set STRIPE_PRICE_ID=/],
        [/^✗ Price "price_local_pro" \(STRIPE_PRICE_ID\): not checked, it is a test-mode price \(above\)$/],
      );
      assert.match(run.stdout, /^✓ STRIPE_SECRET_KEY: a live-mode secret key /m);
      assert.match(run.stdout, /^✓ Stripe accepts STRIPE_SECRET_KEY \(live mode\)$/m);
      assert.match(
        run.stdout,
        /^✓ Price "basic_monthly" \(STRIPE_PRICE_IDS\) is price_local_basic/m,
      );
    } finally {
      await live.close();
    }
  },
);

doctorTest("deno task doctor fails the line of an archived price", async (setUp) => {
  const { variables } = await correctSetUp(setUp);
  const price = await setUp.h.stripe.prices.create({
    product: "prod_local_pro",
    unit_amount: 1500,
    currency: "usd",
    recurring: { interval: "month" },
  });
  await setUp.h.stripe.prices.update(price.id, { active: false });
  const run = await runDoctor({ ...variables, STRIPE_PRICE_IDS: `basic_monthly,${price.id}` });
  assertChecks(run, [
    new RegExp(
      `^✗ Price "${price.id}" \\(STRIPE_PRICE_IDS\\): it is archived → restore it in the Dashboard, or name another price: supabase secrets set STRIPE_PRICE_IDS=`,
    ),
  ]);
});

doctorTest("deno task doctor fails the line of a one-time price", async (setUp) => {
  const { variables } = await correctSetUp(setUp);
  const price = await setUp.h.stripe.prices.create({
    product: "prod_local_basic",
    unit_amount: 9900,
    currency: "usd",
  });
  const run = await runDoctor({ ...variables, STRIPE_PRICE_ID: price.id });
  assertChecks(run, [
    new RegExp(
      `^✗ Price "${price.id}" \\(STRIPE_PRICE_ID\\): it is a one-time price, and checkout sells subscriptions → name a recurring price: supabase secrets set STRIPE_PRICE_ID=price_\\.\\.\\.$`,
    ),
  ]);
});

doctorTest(
  "deno task doctor fails the line of a price whose product is archived",
  async (setUp) => {
    const { variables } = await correctSetUp(setUp);
    const product = await setUp.h.stripe.products.create({ name: "Legacy" });
    await setUp.h.stripe.prices.create({
      product: product.id,
      unit_amount: 700,
      currency: "usd",
      recurring: { interval: "month" },
      lookup_key: `legacy_${product.id}`,
    });
    await setUp.h.stripe.products.update(product.id, { active: false });
    const run = await runDoctor({ ...variables, STRIPE_PRICE_IDS: `legacy_${product.id}` });
    assertChecks(run, [
      new RegExp(
        `^✗ Price "legacy_${product.id}" \\(STRIPE_PRICE_IDS\\) is price_\\w+: its product "Legacy" \\(${product.id}\\) is archived → restore the product in the Dashboard`,
      ),
    ]);
  },
);

doctorTest("deno task doctor fails the line of a price that does not exist", async (setUp) => {
  const { variables } = await correctSetUp(setUp);
  const run = await runDoctor({
    ...variables,
    STRIPE_PRICE_ID: "price_doesnotexist",
    STRIPE_PRICE_IDS: "no_such_lookup_key",
  });
  assertChecks(run, [
    /^✗ Price "price_doesnotexist" \(STRIPE_PRICE_ID\): no such price in test mode → /,
    /^✗ Price "no_such_lookup_key" \(STRIPE_PRICE_IDS\): no test-mode price has this lookup key → /,
  ], [/^✗ Prices in the same mode as STRIPE_SECRET_KEY: not checked, no allowed price was found/]);
});

doctorTest(
  "deno task doctor fails the endpoint's line when no endpoint sends to the project",
  async (setUp) => {
    const { variables } = await correctSetUp(setUp);
    const other = projectUrl();
    const run = await runDoctor(variables, ["--url", other]);
    assertChecks(run, [
      new RegExp(
        `^✗ No Stripe webhook endpoint sends events to ${other}/functions/v1/stripe-webhook → deno task doctor --fix creates it and prints its signing secret$`,
      ),
    ]);
  },
);

doctorTest("deno task doctor names the event types the endpoint does not send", async (setUp) => {
  const { variables } = await correctSetUp(setUp);
  const project = projectUrl();
  const endpoint = await createEndpoint(
    setUp.h.stripe,
    project,
    HANDLED_EVENT_TYPES.filter((type) =>
      type !== "invoice.paid" && type !== "checkout.session.completed"
    ),
  );
  const run = await runDoctor(variables, ["--url", project]);
  assertChecks(run, [
    new RegExp(
      `^✗ Webhook endpoint ${endpoint.id} for ${project}/functions/v1/stripe-webhook does not send checkout\\.session\\.completed, invoice\\.paid → deno task doctor --fix adds them$`,
    ),
  ]);
});

doctorTest("deno task doctor fails the endpoint's line when it is disabled", async (setUp) => {
  const { variables } = await correctSetUp(setUp);
  const project = projectUrl();
  const endpoint = await createEndpoint(setUp.h.stripe, project);
  await setUp.h.stripe.webhookEndpoints.update(endpoint.id, { disabled: true });
  const run = await runDoctor(variables, ["--url", project]);
  assertChecks(run, [
    new RegExp(
      `^✗ Webhook endpoint ${endpoint.id} for .* is disabled → deno task doctor --fix enables it$`,
    ),
  ]);
});

doctorTest(
  "deno task doctor fails the endpoint's line when two endpoints send to the project",
  async (setUp) => {
    const { project, endpoint, variables } = await correctSetUp(setUp);
    const second = await createEndpoint(setUp.h.stripe, project);
    const run = await runDoctor(variables);
    assertChecks(run, [
      new RegExp(
        `^✗ 2 Stripe webhook endpoints send events to \\S+ \\((?=[^)]*${endpoint.id})(?=[^)]*${second.id})we_\\w+, we_\\w+\\): .* → delete all but one`,
      ),
    ]);
  },
);

doctorTest(
  "deno task doctor --fix creates the endpoint, prints its secret once, and the next run passes",
  async (setUp) => {
    const { variables } = await correctSetUp(setUp);
    const project = projectUrl();
    const url = `${project}/functions/v1/stripe-webhook`;
    const fixed = await runDoctor(variables, ["--fix", "--url", project]);
    assertChecks(fixed, []);
    const created = [...setUp.h.emulator.state.webhookEndpoints.values()].filter((record) =>
      record.endpoint.url === url
    );
    assert.equal(created.length, 1);
    const [record] = created;
    assert.ok(record);
    assert.deepEqual(record.endpoint.enabled_events, [...HANDLED_EVENT_TYPES]);
    assert.equal(record.endpoint.api_version, STRIPE_API_VERSION);
    assert.equal(record.endpoint.status, "enabled");
    assert.match(
      fixed.stdout,
      new RegExp(`^✓ Webhook endpoint ${record.endpoint.id} created: it sends the `, "m"),
    );
    const secretLines = fixed.lines.filter((line) => line.includes("whsec_"));
    assert.deepEqual(secretLines, [
      `  supabase secrets set STRIPE_WEBHOOK_SECRET=${record.secret}`,
    ]);

    const again = await runDoctor(variables, ["--url", project]);
    assertChecks(again, []);
    assert.match(again.stdout, new RegExp(`^✓ Webhook endpoint ${record.endpoint.id} sends `, "m"));
    assert.ok(!again.stdout.includes(record.secret));
  },
);

doctorTest(
  "deno task doctor --fix enables the endpoint and adds the types it misses, keeping its own",
  async (setUp) => {
    const { variables } = await correctSetUp(setUp);
    const project = projectUrl();
    const endpoint = await createEndpoint(setUp.h.stripe, project, [
      "customer.subscription.updated",
      "charge.succeeded",
    ]);
    await setUp.h.stripe.webhookEndpoints.update(endpoint.id, { disabled: true });
    const fixed = await runDoctor(variables, ["--fix", "--url", project]);
    assertChecks(fixed, []);
    assert.match(
      fixed.stdout,
      new RegExp(`^✓ Webhook endpoint ${endpoint.id} for .* fixed: enabled it; added `, "m"),
    );
    assert.ok(!fixed.stdout.includes("whsec_"));
    const after = await setUp.h.stripe.webhookEndpoints.retrieve(endpoint.id);
    assert.equal(after.status, "enabled");
    assert.deepEqual(
      [...after.enabled_events].sort(),
      [...new Set([...HANDLED_EVENT_TYPES, "charge.succeeded"])].sort(),
    );
    assertChecks(await runDoctor(variables, ["--url", project]), []);
  },
);

doctorTest("deno task doctor exits 2 with one line for a command line it cannot run", async () => {
  const cases: [string[], RegExp][] = [
    [["--force"], /^error: Unknown argument "--force"$/m],
    [["--url"], /^error: --url needs a value$/m],
    [["--url", "ftp://example.com"], /^error: --url "ftp:\/\/example\.com" is not a project URL/m],
    [["--url", "not a url"], /^error: --url "not a url" is not a URL$/m],
  ];
  for (const [args, pattern] of cases) {
    const run = await runDoctor({}, args);
    assert.equal(run.code, 2, run.stderr);
    assert.match(run.stderr, pattern);
    assert.match(run.stderr, /^Usage: deno task doctor /m);
    assert.equal(run.stdout, "");
  }
  for (const envFile of ["/nonexistent/billing.env", Deno.cwd()]) {
    const run = await runDoctor({}, ["--env-file", envFile]);
    assert.equal(run.code, 2, run.stderr);
    assert.match(run.stderr, /^error: --env-file ".*" cannot be read$/m);
  }
  const help = await runDoctor({}, ["--help"]);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /^Usage: deno task doctor \[--fix\] \[--url <project URL>\]/);
});
