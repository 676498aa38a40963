/** Peak memory of each function, and of two floors, after a burst of requests. */
import type { BenchEnvironment } from "../environment.ts";
import { freePort, round, type ServerProcess, sleep, startServer, throughput } from "../load.ts";
import { giveCustomers, log, post, signedEvents } from "../requests.ts";
import {
  BARE_SERVE,
  FLOOR_WEBHOOK,
  FUNCTION_PORT,
  REQUEST_FUNCTIONS,
  startFunction,
} from "../servers.ts";
import { columns, type Row, type Table } from "../tables.ts";
import { CONCURRENCY, SUBSCRIBERS } from "./webhook.ts";

type Process = typeof REQUEST_FUNCTIONS[number] | "bare Deno.serve" | "webhook floor";

const PROCESSES: readonly Process[] = [...REQUEST_FUNCTIONS, "bare Deno.serve", "webhook floor"];

function start(env: BenchEnvironment, process: Process): Promise<ServerProcess> {
  if (process === "bare Deno.serve") return startServer(BARE_SERVE, FUNCTION_PORT, env.functionEnv);
  if (process === "webhook floor") {
    const port = freePort();
    return startServer(FLOOR_WEBHOOK, port, { ...env.functionEnv, PORT: String(port) });
  }
  return startFunction(env, process);
}

/** How the `count` requests to `process` are sent. */
async function loadFor(env: BenchEnvironment, process: Process, count: number, users: number) {
  if (process === "stripe-webhook" || process === "webhook floor") {
    const events = await signedEvents(env, await env.createSubscribers(SUBSCRIBERS), count);
    return (server: ServerProcess, i: number) => post(server, events[i]!);
  }
  if (process === "bare Deno.serve") return (server: ServerProcess) => post(server);
  const list = await env.createUsers(users);
  if (process === "stripe-portal") await giveCustomers(env, list);
  return (server: ServerProcess, i: number) =>
    post(server, { token: list[i % list.length]!.token });
}

/** VmHWM of each process after a start and after `requests` requests at 16 in flight. */
export async function measureMemory(
  env: BenchEnvironment,
  settings: { quick: boolean },
): Promise<Table[]> {
  const requests = settings.quick ? 150 : 500;
  const users = settings.quick ? 30 : 100;
  const rows: Row[] = [];
  for (const process of PROCESSES) {
    const send = await loadFor(env, process, requests, users);
    const server = await start(env, process);
    try {
      const afterStart = await server.memory();
      await throughput(requests, CONCURRENCY, (i) => send(server, i));
      await sleep(50);
      const { peakMiB } = await server.memory();
      log(`memory ${process}: ${round(peakMiB, 1)} MiB peak`);
      rows.push({
        label: process,
        process,
        kind: process.startsWith("stripe-") ? "function" : "floor",
        afterStartMiB: round(afterStart.peakMiB, 1),
        peakMiB: round(peakMiB, 1),
      });
    } finally {
      await server.stop();
    }
  }
  return [{
    id: "memory",
    title: `Peak memory (VmHWM after ${requests} requests at concurrency ${CONCURRENCY}, MiB)`,
    columns: columns(["process", "process"], ["afterStartMiB", "after start"], [
      "peakMiB",
      "peak",
    ]),
    rows,
    notes: [],
  }];
}
