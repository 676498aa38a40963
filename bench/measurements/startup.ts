/**
 * Start-up figures: each function's cold start against a bare `Deno.serve`, and what each
 * dependency adds to a bare start. Ours and the floor start in turn (floor, subject, floor,
 * subject, ...), so that a burst of load on a shared machine lands on both of a pair; each
 * subject's figure is the median of its starts and the median of its ratios to the floor start
 * just before it. Both tables take the bare figure from the same samples, so they cannot disagree.
 */
import { type BenchEnvironment, SYNC_SECRET } from "../environment.ts";
import { median, medianOfRatios, round, startServer } from "../load.ts";
import type { ServerProcess } from "../load.ts";
import { giveCustomers, post, timed } from "../requests.ts";
import {
  BARE_SERVE,
  BARE_WITH_STRIPE,
  bundle,
  DEPENDENCIES,
  FUNCTION_PORT,
  FUNCTION_SCRIPTS,
  type FunctionName,
  FUNCTIONS,
} from "../servers.ts";
import { columns, type Row, type Table } from "../tables.ts";

/** Pairs of starts per subject (fewer with `quick`). */
const PAIRS = 15;
const QUICK_PAIRS = 3;

/** The first requests after a start: one refused before any I/O, one that does the work. */
interface FirstRequests {
  firstRejectMs: number;
  firstFullMs: number;
}

/** Prepares what a start's first requests need, and returns how to send them. */
type Probe = (env: BenchEnvironment) => Promise<(server: ServerProcess) => Promise<FirstRequests>>;

/** A process whose start is sampled. */
interface Subject {
  name: string;
  script: string;
  probe?: Probe;
}

/** One start of a subject, with the floor's start just before it. */
interface Sample extends FirstRequests {
  readyMs: number;
  floorMs: number;
}

const bareProbe: Probe = () =>
  Promise.resolve(async (server) => ({
    firstRejectMs: await timed(200, () => post(server)),
    firstFullMs: NaN,
  }));

/** A function's first requests: refused without credentials, then answered with them. */
const FUNCTION_PROBES: Record<FunctionName, Probe> = {
  "stripe-checkout": async (env) => {
    const [user] = await env.createUsers(1);
    return async (server) => ({
      firstRejectMs: await timed(401, () => post(server)),
      firstFullMs: await timed(200, () => post(server, { token: user!.token })),
    });
  },
  "stripe-portal": async (env) => {
    const users = await env.createUsers(1);
    await giveCustomers(env, users);
    return async (server) => ({
      firstRejectMs: await timed(401, () => post(server)),
      firstFullMs: await timed(200, () => post(server, { token: users[0]!.token })),
    });
  },
  "stripe-webhook": async (env) => {
    const [subscriber] = await env.createSubscribers(1);
    const event = await env.signedEvent(subscriber!.subscription);
    return async (server) => ({
      firstRejectMs: await timed(400, () => post(server, { body: event.body })),
      firstFullMs: await timed(200, () => post(server, event)),
    });
  },
  "stripe-sync": () =>
    Promise.resolve(async (server) => ({
      firstRejectMs: await timed(401, () => post(server)),
      firstFullMs: await timed(
        200,
        () => post(server, { token: SYNC_SECRET, body: JSON.stringify({ check: true }) }),
      ),
    })),
};

async function startOnce(env: BenchEnvironment, subject: Subject) {
  const send = await subject.probe?.(env);
  const server = await startServer(subject.script, FUNCTION_PORT, env.functionEnv);
  try {
    const first = send ? await send(server) : { firstRejectMs: NaN, firstFullMs: NaN };
    return { readyMs: server.readyMs, ...first };
  } finally {
    await server.stop();
  }
}

/** Starts of a floor and its subjects, in pairs. */
interface Samples {
  floor: Sample[];
  subjects: Map<string, Sample[]>;
}

/**
 * Starts each subject `pairs` times, each right after a start of `floor`; each round takes the
 * subjects in another order. One untimed start of each first fills Deno's caches, as on a warm
 * deploy.
 */
async function samplePairs(
  env: BenchEnvironment,
  floor: Subject,
  subjects: readonly Subject[],
  pairs: number,
): Promise<Samples> {
  const samples: Samples = { floor: [], subjects: new Map() };
  for (const subject of [floor, ...subjects]) {
    await startOnce(env, subject);
    samples.subjects.set(subject.name, []);
  }
  for (let round = 0; round < pairs; round++) {
    for (let i = 0; i < subjects.length; i++) {
      const subject = subjects[(i + round) % subjects.length]!;
      const floorStart = await startOnce(env, floor);
      samples.floor.push({ ...floorStart, floorMs: floorStart.readyMs });
      const start = await startOnce(env, subject);
      samples.subjects.get(subject.name)!.push({ ...start, floorMs: floorStart.readyMs });
    }
  }
  return samples;
}

/** A subject's start figures: medians, and the median of its ratios to its paired floor. */
function summary(samples: Samples, name: string) {
  const list = samples.subjects.get(name)!;
  const ready = list.map((s) => s.readyMs);
  return {
    readyMs: median(ready),
    pairRatio: medianOfRatios(ready, list.map((s) => s.floorMs)),
    addedMs: median(list.map((s) => s.readyMs - s.floorMs)),
    firstRejectMs: median(list.map((s) => s.firstRejectMs)),
    firstFullMs: median(list.map((s) => s.firstFullMs)),
    ready,
  };
}

type Form = "source files" | "one bundle";

function coldStartRows(form: Form, samples: Samples): Row[] {
  const bare = median(samples.floor.map((s) => s.readyMs));
  const withStripe = summary(samples, "bare + Stripe SDK");
  return FUNCTIONS.map((name) => {
    const ours = summary(samples, name);
    return {
      label: `${name}, ${form}`,
      function: name,
      form,
      ours: round(ours.readyMs, 1),
      bare: round(bare, 1),
      medianRatio: round(ours.readyMs / bare),
      pairRatio: round(ours.pairRatio),
      withStripe: round(withStripe.readyMs, 1),
      withStripeRatio: round(medianOfRatios(ours.ready, withStripe.ready)),
      firstRejectMs: round(ours.firstRejectMs, 1),
      firstFullMs: round(ours.firstFullMs, 1),
    };
  });
}

function dependencyRows(samples: Samples): Row[] {
  const bare = median(samples.floor.map((s) => s.readyMs));
  return [
    {
      label: "bare Deno.serve",
      dependency: "(none: bare Deno.serve)",
      usedBy: "-",
      readyMs: round(bare, 1),
      addedMs: 0,
      pairRatio: 1,
    },
    ...DEPENDENCIES.map((dependency) => {
      const figures = summary(samples, dependency.name);
      return {
        label: dependency.name,
        dependency: dependency.name,
        usedBy: dependency.usedBy,
        readyMs: round(figures.readyMs, 1),
        addedMs: round(figures.addedMs, 1),
        pairRatio: round(figures.pairRatio),
      };
    }),
  ];
}

function functionSubjects(scripts: Record<FunctionName, string>): Subject[] {
  return FUNCTIONS.map((name) => ({
    name,
    script: scripts[name],
    probe: FUNCTION_PROBES[name],
  }));
}

async function bundledScripts(dir: string) {
  const functions = {} as Record<FunctionName, string>;
  for (const name of FUNCTIONS) functions[name] = await bundle(FUNCTION_SCRIPTS[name], dir, name);
  return {
    functions,
    bare: await bundle(BARE_SERVE, dir, "bare"),
    withStripe: await bundle(BARE_WITH_STRIPE, dir, "bare-stripe"),
  };
}

/** Cold starts of the functions from source and from one bundle, and each dependency's share. */
export async function measureStartup(
  env: BenchEnvironment,
  settings: { quick: boolean },
): Promise<Table[]> {
  const pairs = settings.quick ? QUICK_PAIRS : PAIRS;
  const dir = await Deno.makeTempDir({ prefix: "bench-bundles-" });
  try {
    const source = await samplePairs(
      env,
      { name: "bare", script: BARE_SERVE, probe: bareProbe },
      [
        ...functionSubjects(FUNCTION_SCRIPTS),
        ...DEPENDENCIES.map((dependency) => ({ name: dependency.name, script: dependency.script })),
      ],
      pairs,
    );
    // The Stripe dependency's samples are the cold-start table's "bare + Stripe SDK".
    source.subjects.set("bare + Stripe SDK", source.subjects.get(DEPENDENCIES[0]!.name)!);
    const bundled = await bundledScripts(dir);
    const fromBundle = await samplePairs(
      env,
      { name: "bare", script: bundled.bare, probe: bareProbe },
      [
        ...functionSubjects(bundled.functions),
        { name: "bare + Stripe SDK", script: bundled.withStripe },
      ],
      pairs,
    );
    const bareFirstPost = round(median(source.floor.map((s) => s.firstRejectMs)), 1);
    return [
      coldStartTable(
        [...coldStartRows("source files", source), ...coldStartRows("one bundle", fromBundle)],
        pairs,
        bareFirstPost,
      ),
      dependencyTable(dependencyRows(source), pairs),
    ];
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

function coldStartTable(rows: Row[], pairs: number, bareFirstPost: number): Table {
  return {
    id: "cold-start",
    title: "Cold start (spawn to first OPTIONS answer, ms)",
    columns: columns(
      ["function", "function"],
      ["form", "started from"],
      ["ours", "ours"],
      ["bare", "bare Deno.serve"],
      ["medianRatio", "ratio of medians"],
      ["pairRatio", "median of pair ratios"],
      ["withStripe", "bare + Stripe SDK"],
      ["withStripeRatio", "ratio to it (pairs)"],
      ["firstRejectMs", "first rejected POST"],
      ["firstFullMs", "first full POST"],
    ),
    rows,
    notes: [
      `Medians of ${pairs} starts each, every one right after a start of the bare server ` +
      "(floor, subject, floor, subject, ..., the subjects in a new order each round); the " +
      "median of pair ratios divides each start by the floor start just before it, so that load " +
      "from other processes, which comes in bursts, weighs on both sides of a ratio. The " +
      "dependency table below takes its bare figure from the same floor starts.",
      "Source files: `deno run index.ts` from Deno's cache, which resolves and reads every module " +
      "of the graph (the Stripe SDK alone is 271 files). One bundle: the same server after " +
      "`deno bundle`, the whole graph in one file, closer to how a deploy packs a function. " +
      "Bare + Stripe SDK: bench/dependencies/stripe.ts, a bare server that builds the functions' " +
      "Stripe client first; it is the least a function that uses the SDK can start in.",
      "First rejected POST: no token or secret (401) or no signature (400), right after the first " +
      `answer; the bare server's first POST took ${bareFirstPost} ms. First full POST: a valid ` +
      "token, signed event or sync secret (a check call), the first request that opens a " +
      "database connection and calls Stripe.",
    ],
  };
}

function dependencyTable(rows: Row[], pairs: number): Table {
  return {
    id: "dependencies",
    title: "What each dependency adds to a start (source files, ms)",
    columns: columns(
      ["dependency", "dependency"],
      ["usedBy", "used by"],
      ["readyMs", "bare + it"],
      ["addedMs", "added over bare (median of pairs)"],
      ["pairRatio", "ratio (median of pairs)"],
    ),
    rows,
    notes: [
      "Each row is a bare server (bench/dependencies/) that loads one dependency and builds what " +
      "the functions build from it (a Stripe client, a JWKS key set, a pool) before serving, " +
      `started ${pairs} times in turn with the bare server, as in the cold-start table. ` +
      "postgres.js loads Node's compatibility layer, which no other dependency of the functions " +
      "needs.",
    ],
  };
}
