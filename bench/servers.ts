/** The processes the bench starts: the functions, the floors beside them, and their bundles. */
import type { BenchEnvironment } from "./environment.ts";
import { type ServerProcess, type StartOptions, startServer } from "./load.ts";

/** `Deno.serve` in the functions' index.ts takes no port, so they listen on its default. */
export const FUNCTION_PORT = 8000;

/** The four functions, by their folder names. */
export const FUNCTIONS = [
  "stripe-checkout",
  "stripe-portal",
  "stripe-webhook",
  "stripe-sync",
] as const;

/** One of the four functions. */
export type FunctionName = typeof FUNCTIONS[number];

/** The functions that answer users' and Stripe's requests (the sync is measured on its own). */
export const REQUEST_FUNCTIONS = ["stripe-checkout", "stripe-portal", "stripe-webhook"] as const;

const ROOT = new URL("../", import.meta.url);

function path(relative: string): string {
  return new URL(relative, ROOT).pathname;
}

/** Each function's entry point. */
export const FUNCTION_SCRIPTS: Record<FunctionName, string> = {
  "stripe-checkout": path("supabase/functions/stripe-checkout/index.ts"),
  "stripe-portal": path("supabase/functions/stripe-portal/index.ts"),
  "stripe-webhook": path("supabase/functions/stripe-webhook/index.ts"),
  "stripe-sync": path("supabase/functions/stripe-sync/index.ts"),
};

/** How a function process is started: `deno run` flags, and environment over the bench's own. */
export type FunctionStart = StartOptions & { env?: Record<string, string> };

/** Starts a function on the default port with the bench's environment, as `options` change it. */
export function startFunction(
  env: BenchEnvironment,
  name: FunctionName,
  options: FunctionStart = {},
): Promise<ServerProcess> {
  return startServer(FUNCTION_SCRIPTS[name], FUNCTION_PORT, {
    ...env.functionEnv,
    ...options.env,
  }, options);
}

/** The smallest `Deno.serve`, started as the functions are: the cold-start floor. */
export const BARE_SERVE = path("bench/bare_serve.ts");

/** The webhook throughput floor (see the file). */
export const FLOOR_WEBHOOK = path("bench/floor_webhook.ts");

/** A bare server that loads one dependency of the functions before serving. */
export interface Dependency {
  name: string;
  usedBy: string;
  script: string;
}

/** Bare servers that load one dependency each before serving (bench/dependencies/). */
export const DEPENDENCIES: readonly Dependency[] = [
  { name: "npm:stripe@23.1.0", usedBy: "all four functions", script: "stripe.ts" },
  { name: "npm:jose@6.2.18", usedBy: "checkout, portal", script: "jose.ts" },
  { name: "_shared/pg/ (own Postgres client)", usedBy: "all four functions", script: "pg.ts" },
  {
    name: "npm:postgres@3.4.9 (postgres.js)",
    usedBy: "none (tooling only, dev/postgres.ts)",
    script: "postgres.ts",
  },
].map((dependency) => ({ ...dependency, script: path(`bench/dependencies/${dependency.script}`) }));

/** The bare server with the Stripe SDK: the least a function that uses the SDK can start in. */
export const BARE_WITH_STRIPE = DEPENDENCIES[0]!.script;

async function run(args: string[], what: string): Promise<void> {
  const { success, stderr } = await new Deno.Command(Deno.execPath(), {
    args,
    stdout: "null",
    stderr: "piped",
  }).output();
  if (!success) throw new Error(`${what} failed: ${new TextDecoder().decode(stderr)}`);
}

/** Fills Deno's cache with every module the started processes load. */
export function cacheDependencies(): Promise<void> {
  const scripts = [
    ...Object.values(FUNCTION_SCRIPTS),
    BARE_SERVE,
    FLOOR_WEBHOOK,
    ...DEPENDENCIES.map((dependency) => dependency.script),
  ];
  return run(["cache", ...scripts], "deno cache");
}

/**
 * Bundles a server into one module with `deno bundle`: the whole module graph in one file, read
 * and compiled at once, as a deploy packs a function, rather than hundreds of cached files
 * resolved one by one. Returns the bundle's path in `dir`.
 */
export async function bundle(script: string, dir: string, name: string): Promise<string> {
  const output = `${dir}/${name}.js`;
  await run(["bundle", "--quiet", "--output", output, script], "deno bundle");
  return output;
}
