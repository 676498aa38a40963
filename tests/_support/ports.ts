/** Loopback ports for servers the tests start, and for connections that must find no server. */

/** A port on 127.0.0.1 that was free a moment ago: nothing listens on it. */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr;
  listener.close();
  return port;
}
