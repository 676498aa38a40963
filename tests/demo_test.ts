/**
 * The demo app of `deno task dev`, from outside, in Chromium, as a newcomer clicks through it:
 * sign in with an email code, pick a plan, pay on the emulator's page, watch the dashboard turn
 * active by itself, open the portal, cancel, see it reflected, sign out; then, on a phone, come
 * back from a Checkout paid for another user. No page may log an error or fail a request. A
 * screenshot of every step goes to test-artifacts/demo-*.png.
 */
import assert from "node:assert/strict";
import type { Page } from "npm:playwright-core@1.65.1";
import { connect } from "../dev/postgres.ts";
import { ARTIFACTS, hasChromium, launchChromium } from "./_support/chromium.ts";
import { freePorts, SKIPPED_ON_SERVER_RUNS, startDev, statusOf } from "./_support/dev_process.ts";
import { eventually } from "./_support/time.ts";

/** How long a step may take: webhooks, a poll, a page load, on a loaded machine. */
const STEP_MS = 20_000;

/** Everything that went wrong on the pages, collected while the test clicks. */
function watchForProblems(page: Page, origin: string): string[] {
  const problems: string[] = [];
  page.on("console", (message) => {
    if (message.type() === "error") {
      problems.push(`console: ${message.text()} (${message.location().url})`);
    }
  });
  page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
  page.on("requestfailed", (request) => {
    problems.push(
      `failed request: ${request.method()} ${request.url()} ${request.failure()?.errorText}`,
    );
  });
  page.on("response", (response) => {
    if (response.url().startsWith(origin) && response.status() >= 400) {
      problems.push(`${response.status()} from ${response.request().method()} ${response.url()}`);
    }
  });
  return problems;
}

async function shoot(page: Page, step: string): Promise<void> {
  await page.screenshot({ path: `${ARTIFACTS}demo-${step}.png`, fullPage: true });
}

Deno.test({
  name:
    "a newcomer signs in on the demo, pays for a plan, sees it active without reloading, cancels in the portal, and is told whom a Checkout paid elsewhere is for",
  ignore: !hasChromium() || SKIPPED_ON_SERVER_RUNS,
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const dataDir = await Deno.makeTempDir({ prefix: "billing-demo-" });
    // No URL: the dev server sends Checkout and the portal back to its own demo.
    const dev = await startDev({ dataDir, ports: freePorts() });
    const sql = connect(dev.databaseUrl, { max: 1 });
    const browser = await launchChromium();
    try {
      // The catalog comes from the emulator's products by the sync pass the server runs at start.
      await eventually("the catalog in billing_plans", async () => {
        const [row] = await sql<{ n: number }[]>`
          select count(*)::int as n from public.billing_plans where active`;
        return (row?.n ?? 0) >= 4 ? true : undefined;
      });
      const page = await browser.newPage({
        locale: "en-US",
        viewport: { width: 1100, height: 800 },
      });
      const problems = watchForProblems(page, dev.baseUrl);

      // Sign in: email, then the code the local mailbox shows.
      await page.goto(`${dev.baseUrl}/`);
      await page.getByRole("heading", { name: "Sign in" }).waitFor();
      assert.match(await page.locator(".banner").innerText(), /Local test mode/);
      await shoot(page, "01-sign-in");
      await page.getByLabel("Email address").fill("newcomer@example.com");
      await page.getByRole("button", { name: "Send me a code" }).click();
      const code = page.locator("#local-code");
      await code.waitFor();
      assert.match(await code.innerText(), /^\d{6}$/);
      assert.ok(
        dev.output().includes(`Sign-in code for newcomer@example.com: ${await code.innerText()}`),
      );
      await shoot(page, "02-code");
      await page.getByLabel("Six-digit code").fill(await code.innerText());
      await page.getByRole("button", { name: "Sign in" }).click();

      // The plans, from billing_plans: monthly first, yearly a click away.
      await page.getByRole("heading", { name: "Choose your plan" }).waitFor();
      assert.equal(await page.locator("#account-email").innerText(), "newcomer@example.com");
      const pro = page.locator(".plan", { has: page.getByRole("heading", { name: "Pro" }) });
      assert.match(await pro.innerText(), /\$10\s+per month/);
      assert.match(await pro.innerText(), /Priority support/);
      assert.match(await pro.innerText(), /API access/);
      await page.getByRole("button", { name: "Yearly" }).click();
      assert.match(await pro.innerText(), /\$100\s+per year/);
      await shoot(page, "03-plans-yearly");
      await page.getByRole("button", { name: "Monthly" }).click();
      await shoot(page, "04-plans");
      const [user] = await sql<{ id: string }[]>`
        select id from auth.users where email = 'newcomer@example.com'`;
      assert.ok(user);
      assert.equal(await statusOf(sql, user.id), null);

      // Checkout of a plan that is not the default, on the emulator's page, and back.
      await page.getByRole("button", { name: "Subscribe to Basic" }).click();
      await page.waitForURL(/\/c\/pay\//, { timeout: STEP_MS });
      await shoot(page, "05-checkout");
      await page.getByRole("button", { name: "Pay" }).click();
      await page.waitForURL(new RegExp(`^${dev.baseUrl}/dashboard\\?checkout=success`));
      let navigations = 0;
      page.on("framenavigated", (frame) => {
        if (frame === page.mainFrame()) navigations += 1;
      });
      await shoot(page, "06-dashboard-after-pay");

      // It turns active by itself: no reload, the page polls the profile.
      await page.locator("#status", { hasText: /^active$/ }).waitFor({ timeout: STEP_MS });
      assert.equal(navigations, 0);
      assert.equal(await statusOf(sql, user.id), "active");
      assert.match(await page.locator("#plan").innerText(), /^Basic · \$5 per month$/);
      assert.match(await page.locator("#period-label").innerText(), /^Renews on$/);
      assert.match(await page.locator("#notice").innerText(), /subscribed/);
      // Basic's one feature, from Stripe's entitlement event, without a reload either.
      await page.locator("#entitlements li", { hasText: "Projects" }).waitFor({
        timeout: STEP_MS,
      });
      assert.deepEqual(await page.locator("#entitlements li").allInnerTexts(), ["Projects"]);
      assert.equal(navigations, 0);
      await shoot(page, "07-dashboard-active");

      // "Update payment method" opens the portal; saving a card comes back and says so.
      await page.getByRole("button", { name: "Update payment method" }).click();
      await page.waitForURL(/\/p\/session\//, { timeout: STEP_MS });
      await shoot(page, "08-payment-method");
      await page.getByRole("button", { name: "Save card" }).click();
      await page.waitForURL(new RegExp(`^${dev.baseUrl}/dashboard$`));
      await page.locator("#status", { hasText: /^active$/ }).waitFor({ timeout: STEP_MS });
      assert.match(await page.locator("#notice").innerText(), /^Back from billing\. A card saved/);

      // "Manage billing": cancel in the portal, return, and the dashboard says so.
      await page.getByRole("button", { name: "Manage billing" }).click();
      await page.waitForURL(/\/p\/session\//, { timeout: STEP_MS });
      await shoot(page, "09-portal");
      // Nothing is due on a paid subscription: no "Pay now", only a test renewal that says so.
      assert.equal(await page.getByRole("button", { name: "Pay now" }).count(), 0);
      assert.ok(await page.getByRole("button", { name: "Renew now (test)" }).isVisible());
      await page.getByRole("button", { name: "Cancel now" }).click();
      await page.getByText("Canceled on").waitFor();
      assert.equal(await page.getByText("Current period ends").count(), 0);
      assert.equal(await page.getByText("Fail next payment").count(), 0);
      await shoot(page, "10-portal-canceled");
      await page.getByRole("button", { name: "Return" }).click();
      await page.waitForURL(new RegExp(`^${dev.baseUrl}/dashboard$`));
      await page.locator("#status", { hasText: /^canceled$/ }).waitFor({ timeout: STEP_MS });
      assert.equal(await statusOf(sql, user.id), "canceled");
      assert.ok(await page.getByRole("link", { name: "Choose a plan" }).isVisible());
      assert.equal(
        await page.getByRole("button", { name: "Update payment method" }).isVisible(),
        false,
      );
      assert.match(await page.locator("#notice").innerText(), /^Back from billing\./);
      assert.equal(await page.locator("#period-label").innerText(), "Ended on");
      assert.match(await page.locator("#period").innerText(), /^[A-Z][a-z]{2} \d{1,2}, \d{4}$/);
      assert.equal(
        await page.locator("#no-entitlements").innerText(),
        "None: your plan has ended.",
      );
      await shoot(page, "11-dashboard-canceled");

      // Signing out goes to the plans and sign-in at `/`.
      await page.getByRole("button", { name: "Sign out" }).click();
      await page.getByRole("heading", { name: "Sign in" }).waitFor();
      assert.equal(page.url(), `${dev.baseUrl}/`);
      assert.equal(await page.locator("#notice").isVisible(), false);
      await shoot(page, "12-signed-out");

      // A Checkout paid from the terminal for another user comes back to this browser, on a
      // phone. Signed out, the page says whom to sign in as; signed in as someone else, the
      // wait ends (the page's clock is moved on) with why nothing arrived.
      const phone = await browser.newPage({
        locale: "en-US",
        viewport: { width: 390, height: 844 },
      });
      problems.push(...watchForProblems(phone, dev.baseUrl));
      await phone.clock.install();
      await phone.goto(`${dev.baseUrl}/dashboard?checkout=success&session_id=cs_elsewhere`);
      await phone.getByRole("heading", { name: "Sign in" }).waitFor();
      assert.equal(
        await phone.locator("#notice").innerText(),
        "Payment received. Sign in as the account you paid for to see it.",
      );
      await shoot(phone, "13-phone-paid-signed-out");
      await phone.getByLabel("Email address").fill("someone.else@example.com");
      await phone.getByRole("button", { name: "Send me a code" }).click();
      await phone.locator("#local-code").waitFor();
      await phone.getByLabel("Six-digit code").fill(await phone.locator("#local-code").innerText());
      await phone.getByRole("button", { name: "Sign in" }).click();
      await phone.getByRole("heading", { name: "Your subscription" }).waitFor();
      assert.match(await phone.locator("#notice").innerText(), /waiting for Stripe/);
      await phone.clock.fastForward(21_000);
      await phone.locator("#notice", { hasText: "No subscription has reached" }).waitFor({
        timeout: STEP_MS,
      });
      assert.match(
        await phone.locator("#notice").innerText(),
        /^No subscription has reached someone\.else@example\.com yet\..*another user \(for example with a token from deno task token\) shows when you sign in as that user\.$/,
      );
      // The header keeps one line: the brand unbroken, the email and "Sign out" side by side.
      const brand = await phone.locator(".brand").boundingBox();
      const email = await phone.locator("#account-email").boundingBox();
      const signOut = await phone.getByRole("button", { name: "Sign out" }).boundingBox();
      assert.ok(brand && email && signOut);
      assert.ok(brand.height < 2 * email.height, `brand is ${brand.height}px high`);
      assert.ok(Math.abs(email.y + email.height / 2 - (signOut.y + signOut.height / 2)) < 4);
      assert.ok(signOut.x + signOut.width <= 390);
      await shoot(phone, "14-phone-other-user");

      assert.deepEqual(problems, []);
    } finally {
      await browser.close();
      await sql.end();
      await dev.stop();
      await Deno.remove(dataDir, { recursive: true });
    }
  },
});
