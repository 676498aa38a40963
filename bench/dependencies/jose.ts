/** A bare `Deno.serve` that first loads jose, the functions' JWT library, and builds a key set. */
import { createLocalJWKSet } from "npm:jose@6.2.18";

createLocalJWKSet({ keys: [] });
Deno.serve(() => new Response("ok"));
