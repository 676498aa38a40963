/**
 * A TCP relay that counts round trips to Postgres: each time a connection's client sends again
 * after the server has answered, that is one more round trip. Pipelined statements (sent before
 * the answer to the previous one) share a round trip, which is what a statement count cannot show.
 */

/** A running relay. */
export interface RoundTripCounter {
  /** The URL to connect through. */
  url: string;
  /** Round trips since the last reset. */
  count(): number;
  reset(): void;
  close(): Promise<void>;
}

/** Relays `databaseUrl`'s server through 127.0.0.1 and counts round trips. */
export function countRoundTrips(databaseUrl: string): RoundTripCounter {
  const target = new URL(databaseUrl);
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const open = new Set<Deno.Conn>();
  let trips = 0;

  async function relay(client: Deno.Conn) {
    const server = await Deno.connect({
      hostname: target.hostname,
      port: Number(target.port || "5432"),
    });
    open.add(client).add(server);
    let awaitingAnswer = false;
    const pipe = async (from: Deno.Conn, to: Deno.Conn, fromClient: boolean) => {
      const buffer = new Uint8Array(64 * 1024);
      try {
        while (true) {
          const read = await from.read(buffer);
          if (read === null) break;
          if (fromClient && !awaitingAnswer) {
            trips++;
            awaitingAnswer = true;
          }
          if (!fromClient) awaitingAnswer = false;
          let written = 0;
          while (written < read) written += await to.write(buffer.subarray(written, read));
        }
      } catch {
        // Either side closing ends the relay.
      } finally {
        for (const conn of [from, to]) {
          open.delete(conn);
          try {
            conn.close();
          } catch {
            // Already closed.
          }
        }
      }
    };
    await Promise.all([pipe(client, server, true), pipe(server, client, false)]);
  }

  const accepting = (async () => {
    for await (const client of listener) relay(client);
  })();
  const url = new URL(databaseUrl);
  url.hostname = "127.0.0.1";
  url.port = String((listener.addr as Deno.NetAddr).port);
  return {
    url: url.href,
    count: () => trips,
    reset: () => {
      trips = 0;
    },
    async close() {
      listener.close();
      for (const conn of open) {
        try {
          conn.close();
        } catch {
          // Already closed.
        }
      }
      await accepting.catch(() => {});
    },
  };
}
