import assert from "node:assert/strict";
import { LOCAL_PUBLISHABLE_KEY } from "../dev/local.ts";
import { harnessTest } from "./_support/harness.ts";
import { serveLocalPlatform } from "./_support/local_platform.ts";
import { CATALOG_PLANS, insertPlans } from "./_support/plan_rows.ts";

const KEY = { apikey: LOCAL_PUBLISHABLE_KEY };

function email(): string {
  return `rest-${crypto.randomUUID().slice(0, 8)}@example.com`;
}

harnessTest(
  "a signed-in user reads their own profile through supabase-js, and nobody else's",
  async (h) => {
    const platform = serveLocalPlatform(h);
    try {
      const ada = await platform.signIn(email());
      const bob = await platform.signIn(email());

      const all = await ada.client.from("profiles").select("*");
      assert.equal(all.error, null);
      assert.deepEqual(all.data?.map((row) => row.id), [ada.userId]);
      assert.deepEqual(all.data?.[0]?.entitlements, []);

      const own = await ada.client.from("profiles").select("id, email, subscription_status")
        .eq("id", ada.userId).single();
      assert.equal(own.status, 200);
      assert.equal(own.data?.id, ada.userId);
      assert.equal(own.data?.subscription_status, null);

      const other = await ada.client.from("profiles").select("id").eq("id", bob.userId).single();
      assert.equal(other.status, 406);
      assert.equal(other.error?.code, "PGRST116");
      assert.equal(other.error?.details, "The result contains 0 rows");
      const maybe = await ada.client.from("profiles").select("id").eq("id", bob.userId)
        .maybeSingle();
      assert.equal(maybe.error, null);
      assert.equal(maybe.data, null);

      // Strings that look like SQL are values, compared as values.
      const sly = await ada.client.from("profiles").select("id").eq("email", "x' or '1'='1");
      assert.deepEqual(sly.data, []);
    } finally {
      await platform.close();
    }
  },
);

harnessTest("without a user, supabase-js reads the plans and no profile", async (h) => {
  const platform = serveLocalPlatform(h);
  try {
    await insertPlans(h.sql);
    const client = platform.client();
    const plans = await client.from("billing_plans").select("price_id, unit_amount, features")
      .eq("active", true).order("unit_amount", { ascending: true });
    assert.equal(plans.error, null);
    assert.deepEqual(
      plans.data?.map((plan) => plan.price_id),
      [...CATALOG_PLANS].sort((a, b) => a.unit_amount - b.unit_amount).map((plan) => plan.price_id),
    );
    assert.deepEqual(plans.data?.at(-1)?.features, CATALOG_PLANS.at(-1)?.features);

    const profiles = await client.from("profiles").select("id");
    assert.equal(profiles.status, 401);
    assert.equal(profiles.error?.code, "42501");
    assert.equal(profiles.error?.message, "permission denied for table profiles");
  } finally {
    await platform.close();
  }
});

harnessTest("filters, order, limit, offset and counts follow PostgREST's syntax", async (h) => {
  const platform = serveLocalPlatform(h);
  try {
    await insertPlans(h.sql);
    const client = platform.client();
    const yearly = await client.from("billing_plans").select("price_id")
      .in("price_id", CATALOG_PLANS.map((plan) => plan.price_id)).eq("interval", "year")
      .order("unit_amount", { ascending: false });
    assert.deepEqual(yearly.data?.map((plan) => plan.price_id), [
      "price_local_pro_yearly",
      "price_local_basic_yearly",
    ]);
    const cheap = await client.from("billing_plans").select("price_id", { count: "exact" })
      .in("price_id", CATALOG_PLANS.map((plan) => plan.price_id)).lte("unit_amount", 1000)
      .order("unit_amount").range(1, 1);
    assert.equal(cheap.count, 2);
    assert.deepEqual(cheap.data?.map((plan) => plan.price_id), ["price_local_pro"]);
    const none = await client.from("billing_plans").select("price_id").is("trial_days", null)
      .neq("currency", "usd").gt("unit_amount", 0);
    assert.deepEqual(none.data, []);
    const head = await fetch(`${platform.url}/rest/v1/billing_plans?select=price_id&limit=1`, {
      method: "HEAD",
      headers: KEY,
    });
    assert.equal(head.status, 200);
    assert.equal(head.headers.get("content-range"), "0-0/*");
  } finally {
    await platform.close();
  }
});

harnessTest("requests the stand-in cannot serve get PostgREST's errors and statuses", async (h) => {
  const platform = serveLocalPlatform(h);
  try {
    const { accessToken } = await platform.signIn(email());
    const user = { ...KEY, Authorization: `Bearer ${accessToken}` };
    const cases: [string, RequestInit, number, string][] = [
      ["/rest/v1/profiles?select=nope", { headers: user }, 400, "42703"],
      ['/rest/v1/profiles?select=id,"email"', { headers: user }, 400, "PGRST100"],
      ["/rest/v1/profiles?select=id;drop", { headers: user }, 400, "PGRST100"],
      ['/rest/v1/profiles?id"=eq.1', { headers: user }, 400, "42703"],
      ["/rest/v1/profiles?id=like.1", { headers: user }, 400, "PGRST100"],
      ["/rest/v1/profiles?id=eq.not-a-uuid", { headers: user }, 400, "22P02"],
      ["/rest/v1/profiles?or=(id.eq.1)", { headers: user }, 400, "PGRST100"],
      ["/rest/v1/profiles?limit=-1", { headers: user }, 400, "PGRST100"],
      ["/rest/v1/stripe_events", { headers: user }, 404, "PGRST205"],
      ["/rest/v1/profiles", { method: "PATCH", headers: user, body: "{}" }, 405, "PGRST117"],
      ["/rest/v1/profiles", { headers: { ...user, "Accept-Profile": "auth" } }, 406, "PGRST106"],
      ["/rest/v1/profiles", { headers: { ...user, Accept: "text/csv" } }, 406, "PGRST107"],
    ];
    for (const [path, init, status, code] of cases) {
      const response = await fetch(`${platform.url}${path}`, init);
      assert.equal(response.status, status, path);
      const body = await response.json();
      assert.equal(body.code, code, path);
      assert.deepEqual(Object.keys(body).sort(), ["code", "details", "hint", "message"], path);
    }
    const noKey = await fetch(`${platform.url}/rest/v1/billing_plans`);
    assert.equal(noKey.status, 401);
    assert.equal((await noKey.json()).message, "No API key found in request");
  } finally {
    await platform.close();
  }
});

harnessTest("a token the functions refuse reads nothing through the REST stand-in", async (h) => {
  const platform = serveLocalPlatform(h);
  try {
    const { userId } = await platform.signIn(email());
    const cases: [string, string, string][] = [
      ["expired", await h.token(userId, {}, { expiresIn: -60 }), "PGRST303"],
      [
        "another issuer",
        await h.token(userId, {}, { issuer: "http://elsewhere/auth/v1" }),
        "PGRST301",
      ],
      ["service role", await h.token(userId, { role: "service_role" }), "PGRST301"],
      ["not a JWT", "not-a-token", "PGRST301"],
    ];
    for (const [what, token, code] of cases) {
      const response = await fetch(`${platform.url}/rest/v1/profiles?select=id`, {
        headers: { ...KEY, Authorization: `Bearer ${token}` },
      });
      assert.equal(response.status, 401, what);
      assert.match(response.headers.get("www-authenticate") ?? "", /^Bearer error="invalid_token"/);
      assert.equal((await response.json()).code, code, what);
    }
  } finally {
    await platform.close();
  }
});
