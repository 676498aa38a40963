/**
 * A bare `Deno.serve` that first loads postgres.js and builds a pool: the general-purpose driver,
 * measured beside the functions' own client (the tooling uses it, through dev/postgres.ts).
 */
import postgres from "npm:postgres@3.4.9";

postgres("postgres://postgres@127.0.0.1:5432/postgres", { prepare: false });
Deno.serve(() => new Response("ok"));
