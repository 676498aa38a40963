/** Runs `deno task dev` as a person would, in a child process with its own ports and data. */
import type { Sql } from "../../dev/postgres.ts";
import { freePort } from "./ports.ts";
import { sleep } from "./time.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

/**
 * The child starts from a clean environment, so a DATABASE_URL run would repeat exactly what
 * the embedded-database run does: the tests of `deno task dev` run in that one only.
 */
export const SKIPPED_ON_SERVER_RUNS = (Deno.env.get("DATABASE_URL") ?? "") !== "";

/** A running `deno task dev`. */
export interface DevProcess {
  baseUrl: string;
  databaseUrl: string;
  /** Everything it printed so far. */
  output(): string;
  stop(): Promise<void>;
}

/** Options for {@link startDev}. */
export interface DevOptions {
  dataDir: string;
  ports: { app: number; db: number; stripe: number };
  /** More environment, e.g. `URL`. Nothing else from the test's environment leaks in. */
  env?: Record<string, string>;
}

/** Three free ports for the server, the embedded database and the Stripe emulator. */
export function freePorts(): DevOptions["ports"] {
  return { app: freePort(), db: freePort(), stripe: freePort() };
}

/**
 * The command a deno.json task runs, as arguments for this Deno binary, so the child is the
 * task's own process (signals reach it directly, not through the task runner).
 */
export async function taskArgs(name: string, extra: string[] = []): Promise<string[]> {
  const config = JSON.parse(
    (await Deno.readTextFile(`${ROOT}deno.json`)).replace(/^\s*\/\/.*$/gm, ""),
  ) as { tasks: Record<string, string> };
  const [deno, ...args] = (config.tasks[name] ?? "").split(/\s+/);
  if (deno !== "deno") throw new Error(`Task "${name}" does not start with deno`);
  return [...args, ...extra];
}

/** The few variables a child process needs; nothing else of the test's environment. */
export function baseEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const name of ["PATH", "HOME", "DENO_DIR", "TMPDIR", "NO_COLOR"]) {
    const value = Deno.env.get(name);
    if (value !== undefined) env[name] = value;
  }
  return env;
}

/** Starts `deno task dev` with zero configuration and waits until it is ready. */
export async function startDev(options: DevOptions): Promise<DevProcess> {
  const child = new Deno.Command(Deno.execPath(), {
    args: await taskArgs("dev"),
    cwd: ROOT,
    clearEnv: true,
    env: {
      ...baseEnv(),
      NO_COLOR: "1",
      DEV_DATA_DIR: options.dataDir,
      PORT: String(options.ports.app),
      DB_PORT: String(options.ports.db),
      STRIPE_EMULATOR_PORT: String(options.ports.stripe),
      ...options.env,
    },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let printed = "";
  const decoder = new TextDecoder();
  const drain = async (stream: ReadableStream<Uint8Array>) => {
    for await (const chunk of stream) printed += decoder.decode(chunk, { stream: true });
  };
  const drained = Promise.all([drain(child.stdout), drain(child.stderr)]);
  const baseUrl = `http://127.0.0.1:${options.ports.app}`;
  const deadline = Date.now() + 120_000;
  let exited = false;
  child.status.then(() => exited = true);
  while (!printed.includes("Stripe billing functions running at")) {
    if (exited || Date.now() > deadline) {
      if (!exited) child.kill("SIGKILL");
      await child.status;
      await drained;
      throw new Error(`deno task dev did not start:\n${printed}`);
    }
    await sleep(100);
  }
  return {
    baseUrl,
    databaseUrl: `postgres://postgres@127.0.0.1:${options.ports.db}/postgres`,
    output: () => printed,
    async stop() {
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
      await child.status;
      clearTimeout(timer);
      await drained;
    },
  };
}

/** Runs `deno task token <email>` against a running server; returns the token it printed. */
export async function taskToken(
  port: number,
  email: string,
): Promise<{ token: string; note: string }> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: await taskArgs("token", [email]),
    cwd: ROOT,
    clearEnv: true,
    env: { ...baseEnv(), NO_COLOR: "1", PORT: String(port) },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stdout = new TextDecoder().decode(output.stdout).trim();
  const stderr = new TextDecoder().decode(output.stderr);
  if (!output.success) throw new Error(`deno task token failed:\n${stderr}`);
  return { token: stdout.split("\n").at(-1) ?? "", note: stderr };
}

/** Reads one user's subscription status through the embedded database's wire server. */
export async function statusOf(sql: Sql, userId: string): Promise<string | null | undefined> {
  const [row] = await sql<{ subscription_status: string | null }[]>`
    select subscription_status from public.profiles where id = ${userId}`;
  return row?.subscription_status;
}
