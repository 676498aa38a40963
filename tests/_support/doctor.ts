/**
 * What the doctor's tests share: `deno task doctor` run as a child process with nothing but the
 * variables a test gives it, a set-up that passes every check, and the assertions on its lines.
 */
import assert from "node:assert/strict";
import { type DatabaseSchema, startDatabase, type StartedDatabase } from "../../dev/database.ts";
import { HANDLED_EVENT_TYPES } from "../../supabase/functions/_shared/events.ts";
import { type Stripe, STRIPE_API_VERSION } from "../../supabase/functions/_shared/stripe.ts";
import { DEFAULT_PRICE_ID } from "../../dev/stripe/mod.ts";
import { type Harness, startHarness, STRIPE_SECRET_KEY } from "./harness.ts";

const CLI = new URL("../../cli/doctor.ts", import.meta.url).pathname;

/** The password put into `SUPABASE_DB_URL` when it has none, to prove it is never printed. */
export const DB_PASSWORD = "doctor-db-password-9f3k";

/** The variables of a set-up that passes every check, but for the endpoint and the database. */
export function goodVariables(setUp: {
  stripeApiUrl: string;
  secretKey: string;
  databaseUrl: string;
  project: string;
}): Record<string, string> {
  return {
    STRIPE_SECRET_KEY: setUp.secretKey,
    STRIPE_API_URL: setUp.stripeApiUrl,
    STRIPE_PRICE_ID: DEFAULT_PRICE_ID,
    STRIPE_PRICE_IDS: "basic_monthly,price_local_pro_yearly",
    STRIPE_WEBHOOK_SECRET: "whsec_doctor_test_secret",
    URL: "https://app.example.com",
    SUPABASE_URL: setUp.project,
    SUPABASE_DB_URL: withPassword(setUp.databaseUrl),
    BILLING_SYNC_SECRET: "doctor-sync-secret-0123456789",
  };
}

/** The URL with {@link DB_PASSWORD} as its password unless it has one (trust auth ignores it). */
function withPassword(databaseUrl: string): string {
  const url = new URL(databaseUrl);
  if (url.password === "") url.password = DB_PASSWORD;
  return url.href;
}

/** A project URL of its own for each test, so that endpoints of tests never meet. */
export function projectUrl(): string {
  return `https://doctor${crypto.randomUUID().slice(0, 8)}.supabase.co`;
}

/** What one run of the doctor printed and how it exited. */
export interface DoctorRun {
  code: number;
  stdout: string;
  stderr: string;
  lines: string[];
}

/** How the variables reach the doctor: an `--env-file`, or the process's environment. */
export type VariableSource = "env-file" | "environment";

/**
 * Runs `deno task doctor` with `variables` and nothing else (no `supabase/functions/.env`), and
 * asserts that it printed none of their secrets.
 */
export async function runDoctor(
  variables: Record<string, string>,
  args: string[] = [],
  source: VariableSource = "env-file",
): Promise<DoctorRun> {
  const env: Record<string, string> = { NO_COLOR: "1" };
  for (const name of ["PATH", "HOME", "DENO_DIR", "TMPDIR"]) {
    const value = Deno.env.get(name);
    if (value !== undefined) env[name] = value;
  }
  const file = await Deno.makeTempFile({ prefix: "doctor-", suffix: ".env" });
  try {
    if (source === "env-file") {
      await Deno.writeTextFile(
        file,
        Object.entries(variables).map(([name, value]) => `${name}="${value}"`).join("\n"),
      );
    } else {
      Object.assign(env, variables);
    }
    const output = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-all", CLI, "--env-file", file, ...args],
      env,
      clearEnv: true,
      stdout: "piped",
      stderr: "piped",
    }).output();
    const decoder = new TextDecoder();
    const stdout = decoder.decode(output.stdout);
    const stderr = decoder.decode(output.stderr);
    assertNoSecret(`${stdout}\n${stderr}`, variables);
    return { code: output.code, stdout, stderr, lines: stdout.split("\n") };
  } finally {
    await Deno.remove(file);
  }
}

/** Asserts that no secret of `variables` (keys, webhook and sync secrets, the db password) shows. */
export function assertNoSecret(output: string, variables: Record<string, string>): void {
  const secrets = [
    variables.STRIPE_SECRET_KEY,
    variables.STRIPE_WEBHOOK_SECRET,
    variables.BILLING_SYNC_SECRET,
    variables.SUPABASE_DB_URL && decodeURIComponent(new URL(variables.SUPABASE_DB_URL).password),
  ];
  for (const secret of secrets) {
    if (secret) assert.ok(!output.includes(secret), `The output shows a secret:\n${output}`);
  }
}

/**
 * Asserts the run's `✗` lines are exactly `failures` and those of checks not run exactly `skips` (each a
 * pattern, in order), and that it exited 1 when there are any, 0 otherwise.
 */
export function assertChecks(
  run: DoctorRun,
  failures: readonly RegExp[],
  skips: readonly RegExp[] = [],
): void {
  const context = `${run.stdout}\n${run.stderr}`;
  const notRun = (line: string) => line.includes(": not checked, ");
  const failed = run.lines.filter((line) => line.startsWith("✗ ") && !notRun(line));
  const skipped = run.lines.filter((line) => line.startsWith("✗ ") && notRun(line));
  assert.equal(failed.length, failures.length, `✗ lines:\n${context}`);
  failures.forEach((pattern, i) => assert.match(failed[i] ?? "", pattern, context));
  assert.equal(skipped.length, skips.length, `- lines:\n${context}`);
  skips.forEach((pattern, i) => assert.match(skipped[i] ?? "", pattern, context));
  assert.equal(run.code, failures.length + skips.length === 0 ? 0 : 1, context);
  assert.ok(run.lines.some((line) => line.startsWith("✓ ")), context);
  assert.ok(!/\n\s+at /.test(context), `A stack trace:\n${context}`);
}

/** Registers the endpoint a correct set-up has: every handled type, the pinned API version. */
export async function createEndpoint(
  stripe: Stripe,
  project: string,
  enabledEvents: Stripe.WebhookEndpointCreateParams.EnabledEvent[] = [...HANDLED_EVENT_TYPES],
): Promise<Stripe.WebhookEndpoint> {
  return await stripe.webhookEndpoints.create({
    url: `${project}/functions/v1/stripe-webhook`,
    enabled_events: enabledEvents,
    api_version: STRIPE_API_VERSION,
  });
}

/** A database of its own (embedded, or on the server of DATABASE_URL), migrated unless told. */
export async function startTestDatabase(
  options: { schema?: DatabaseSchema; migrated?: boolean } = {},
): Promise<StartedDatabase> {
  const serverUrl = Deno.env.get("DATABASE_URL") || undefined;
  const schema = options.schema ?? "plain";
  if (options.migrated !== false) return await startDatabase({ serverUrl, schema });
  // No migration in the folder: a Supabase-shaped database with nothing of ours.
  const empty = await Deno.makeTempDir({ prefix: "doctor-no-migrations-" });
  try {
    return await startDatabase({ serverUrl, schema, migrationsDir: empty });
  } finally {
    await Deno.remove(empty);
  }
}

/** The emulator of the file's harness and a migrated database, shared by the tests of one file. */
export interface DoctorSetUp {
  h: Harness;
  databaseUrl: string;
}

let shared: Promise<{ h: Harness; database: StartedDatabase }> | undefined;

/**
 * The file's harness and a plain migrated database of the doctor's own (the harness's may have
 * the quickstart's shape). Webhook deliveries are dropped: the endpoints the tests register point
 * at projects that do not exist.
 */
export async function doctorSetUp(): Promise<DoctorSetUp> {
  shared ??= (async () => {
    const h = await startHarness();
    h.emulator.setOutage(true);
    return { h, database: await startTestDatabase() };
  })();
  const { h, database } = await shared;
  return { h, databaseUrl: database.url };
}

/** A correct set-up for a project of the test's own (its endpoint registered), on `databaseUrl`. */
export async function correctSetUp(
  { h, databaseUrl }: DoctorSetUp,
  database: string = databaseUrl,
): Promise<
  { project: string; endpoint: Stripe.WebhookEndpoint; variables: Record<string, string> }
> {
  const project = projectUrl();
  const endpoint = await createEndpoint(h.stripe, project);
  const variables = goodVariables({
    stripeApiUrl: h.stripeApiUrl,
    secretKey: STRIPE_SECRET_KEY,
    databaseUrl: database,
    project,
  });
  return { project, endpoint, variables };
}

let teardownRegistered = false;

/** Closes the file's set-up after its last test: a hook, so that it is no test itself. */
function registerTeardown(): void {
  if (teardownRegistered) return;
  teardownRegistered = true;
  Deno.test.afterAll(async () => {
    const started = shared;
    shared = undefined;
    const running = await started?.catch(() => undefined);
    await running?.database.close();
    await running?.h.close();
  });
}

/** Declares a test that runs on the shared {@link doctorSetUp}, closed after the file's last test. */
export function doctorTest(name: string, fn: (setUp: DoctorSetUp) => Promise<void>): void {
  registerTeardown();
  Deno.test({
    name,
    sanitizeOps: false,
    sanitizeResources: false,
    fn: async () => fn(await doctorSetUp()),
  });
}
