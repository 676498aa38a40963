/** A bare `Deno.serve` that first loads the functions' own Postgres client and builds a pool. */
import { createPool } from "../../supabase/functions/_shared/pg/mod.ts";

createPool("postgres://postgres@127.0.0.1:5432/postgres");
Deno.serve(() => new Response("ok"));
