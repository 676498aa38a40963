/** Measuring tools: medians and percentiles, a closed-loop load driver, and spawned servers. */

/** The middle value (mean of the two middle ones for an even count); NaN when empty. */
export function median(values: readonly number[]): number {
  return percentile(values, 50);
}

/** The median of `values[i] / references[i]`: a ratio that noise common to a pair cancels out of. */
export function medianOfRatios(values: readonly number[], references: readonly number[]): number {
  return median(values.map((value, i) => value / (references[i] ?? NaN)));
}

/** The p-th percentile by linear interpolation between closest ranks; NaN when empty. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = (p / 100) * (sorted.length - 1);
  const low = Math.floor(rank);
  const high = Math.ceil(rank);
  const lowValue = sorted[low] ?? NaN;
  const highValue = sorted[high] ?? NaN;
  return lowValue + (highValue - lowValue) * (rank - low);
}

/** Rounds for display and JSON: `digits` decimals. */
export function round(value: number, digits = 2): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}

/** Waits `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Sends `count` requests with `concurrency` in flight, each made by `send(index)`, and returns
 * requests per second. Every response must be a 2xx; the first failure aborts the run.
 */
export async function throughput(
  count: number,
  concurrency: number,
  send: (index: number) => Promise<Response>,
): Promise<number> {
  let next = 0;
  const started = performance.now();
  const worker = async () => {
    while (next < count) {
      const index = next++;
      const response = await send(index);
      const body = await response.text();
      if (!response.ok) {
        throw new Error(`Request ${index} answered ${response.status}: ${body.slice(0, 200)}`);
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return count / ((performance.now() - started) / 1000);
}

/** A server process started by the bench. */
export interface ServerProcess {
  pid: number;
  /** Milliseconds from spawn to the first answered OPTIONS request. */
  readyMs: number;
  /** An HTTP client of its own, so no pooled connection outlives the process. */
  client: Deno.HttpClient;
  url: string;
  /** Memory figures from /proc/<pid>/status, in MiB. */
  memory(): Promise<{ peakMiB: number; residentMiB: number }>;
  stop(): Promise<void>;
}

const running = new Set<ServerProcess>();

/** Stops every server still running (on the way out, also after an error). */
export async function stopAllServers(): Promise<void> {
  await Promise.all([...running].map((server) => server.stop()));
}

async function readStatusMiB(pid: number, field: string): Promise<number> {
  const status = await Deno.readTextFile(`/proc/${pid}/status`);
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status);
  if (!match?.[1]) throw new Error(`No "${field}" in /proc/${pid}/status`);
  return Number(match[1]) / 1024;
}

/** A port nothing listens on now, on 127.0.0.1. */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

/** Options of {@link startServer}. */
export interface StartOptions {
  /** Flags for `deno run` before the script, e.g. `--v8-flags=--stack-trace-limit=0`. */
  denoFlags?: readonly string[];
  /** How long the server may take to answer its first OPTIONS request. */
  timeoutMs?: number;
}

/**
 * Spawns `deno run --allow-all <script>` and polls it with OPTIONS until it answers. The time from
 * just before spawning to that first answer is its cold start.
 */
export async function startServer(
  script: string,
  port: number,
  env: Record<string, string>,
  options: StartOptions = {},
): Promise<ServerProcess> {
  const { denoFlags = [], timeoutMs = 30_000 } = options;
  const url = `http://127.0.0.1:${port}/`;
  const started = performance.now();
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", ...denoFlags, script],
    env,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  let stderr = "";
  const drained = child.stderr.pipeThrough(new TextDecoderStream()).pipeTo(
    new WritableStream({ write: (chunk) => void (stderr = (stderr + chunk).slice(-2000)) }),
  ).catch(() => {});
  let exited = false;
  const status = child.status.finally(() => exited = true);
  const client = Deno.createHttpClient({});
  const server: ServerProcess = {
    pid: child.pid,
    readyMs: NaN,
    client,
    url,
    async memory() {
      return {
        peakMiB: await readStatusMiB(child.pid, "VmHWM"),
        residentMiB: await readStatusMiB(child.pid, "VmRSS"),
      };
    },
    async stop() {
      if (!running.delete(server)) return;
      if (!exited) {
        try {
          child.kill("SIGTERM");
        } catch {
          // It ended on its own meanwhile.
        }
      }
      const timer = setTimeout(() => {
        if (!exited) child.kill("SIGKILL");
      }, 3000);
      await status;
      clearTimeout(timer);
      await drained;
      client.close();
    },
  };
  running.add(server);
  while (true) {
    if (exited) {
      await server.stop();
      throw new Error(`${script} exited before answering: ${stderr.trim()}`);
    }
    if (performance.now() - started > timeoutMs) {
      await server.stop();
      throw new Error(`${script} did not answer within ${timeoutMs} ms: ${stderr.trim()}`);
    }
    try {
      const response = await fetch(url, { method: "OPTIONS", client });
      await response.body?.cancel();
      server.readyMs = performance.now() - started;
      return server;
    } catch {
      await sleep(1);
    }
  }
}
