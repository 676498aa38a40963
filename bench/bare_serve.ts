/** The cold-start floor: the smallest `Deno.serve`, started exactly as the functions are. */
Deno.serve(() => new Response("ok"));
